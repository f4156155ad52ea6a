import type { ProjectRead } from "@/client/types.gen";
import { meAs, PROJECT, VIEWER } from "@/test/data";
import readme from "../../../../README.md?raw";
import { may, projectPermissions, ROLE_PERMISSIONS } from "./permissions";

const project = {
  ...PROJECT,
  members: [{ user_id: VIEWER, role: "maintainer", added_at: "2026-01-01T00:00:00Z" }],
} as ProjectRead;

describe("the role table", () => {
  it("is the README's (the services' swe_common.permissions.ROLE_PERMISSIONS)", () => {
    const block = readme.split("<!-- roles-table:start -->")[1]?.split("<!-- roles-table:end -->")[0];
    const lines = (block ?? "").trim().split("\n");
    const roles = [...(lines[0] ?? "").matchAll(/`(\w+)`/g)].map((m) => m[1] ?? "");
    expect(roles).toEqual(Object.keys(ROLE_PERMISSIONS));
    const documented = new Map<string, string[]>(roles.map((r) => [r, []]));
    for (const line of lines.filter((l) => l.startsWith("| `"))) {
      const cells = line.split("|").map((c) => c.trim());
      const permission = (cells[1] ?? "").replaceAll("`", "");
      roles.forEach((role, index) => {
        if (cells[3 + index] === "✓") documented.get(role)?.push(permission);
      });
    }
    expect(lines.filter((l) => l.startsWith("| `")).length).toBeGreaterThan(10);
    for (const role of roles) {
      expect([...(ROLE_PERMISSIONS[role] ?? [])].sort()).toEqual(documented.get(role)?.sort());
    }
  });
});

describe("an automation account (role agent), maintainer of the project", () => {
  const agent = meAs({ id: VIEWER, roles: ["agent"] });
  const permissions = projectPermissions(project, agent);

  it("starts runs and requests reviews but changes no project, agent or other issue", () => {
    expect(permissions.canRunAgents).toBe(true);
    expect(permissions.canRequestReviews).toBe(true);
    expect(permissions.canEdit).toBe(false);
    expect(permissions.canManage).toBe(false);
    expect(permissions.canWriteAgents).toBe(false);
    expect(permissions.canWriteIssues).toBe(false);
  });

  it("changes only what is assigned to it", () => {
    expect(permissions.canUpdate({ assignee_id: VIEWER })).toBe(true);
    expect(permissions.canUpdate({ assignee_id: PROJECT.owner_id })).toBe(false);
    expect(permissions.canUpdate({ assignee_id: null })).toBe(false);
  });

  it("sees neither the analytics nor the administration", () => {
    expect(may(agent, "analytics.read")).toBe(false);
    expect(may(agent, "users.admin")).toBe(false);
  });
});

describe("the other roles as maintainers", () => {
  it("a user changes every issue; readonly none, even one assigned to it", () => {
    const user = projectPermissions(project, meAs({ id: VIEWER, roles: ["user"] }));
    expect(user.canUpdate({ assignee_id: null })).toBe(true);
    expect(user.canWriteAgents && user.canRunAgents && user.canEdit).toBe(true);
    const reader = projectPermissions(project, meAs({ id: VIEWER, roles: ["readonly"] }));
    expect(reader.canUpdate({ assignee_id: VIEWER })).toBe(false);
    expect(reader.canRunAgents || reader.canRequestReviews || reader.canEdit).toBe(false);
  });
});
