import type { ProjectRead } from "@/client/types.gen";
import { meAs, PROJECT, VIEWER } from "@/test/data";
import { may, projectPermissions } from "./permissions";

const project = {
  ...PROJECT,
  members: [{ user_id: VIEWER, role: "maintainer" }],
} as unknown as ProjectRead;

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

  it("comments only on what is assigned to it and moderates no one", () => {
    expect(permissions.canComment({ assignee_id: VIEWER })).toBe(true);
    expect(permissions.canComment({ assignee_id: PROJECT.owner_id })).toBe(false);
    expect(permissions.canComment({ assignee_id: null })).toBe(false);
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

describe("who comments", () => {
  it("a user comments as a maintainer, not as a viewer; readonly never; an admin anywhere", () => {
    const user = meAs({ id: VIEWER, roles: ["user"] });
    expect(projectPermissions(project, user).canComment({})).toBe(true);
    expect(projectPermissions(PROJECT as unknown as ProjectRead, user).canComment({})).toBe(false);
    const reader = meAs({ id: VIEWER, roles: ["readonly"] });
    expect(projectPermissions(project, reader).canComment({ assignee_id: VIEWER })).toBe(false);
    const admin = meAs({ id: VIEWER, roles: ["admin"] });
    expect(projectPermissions({ ...project, members: [] }, admin).canComment({})).toBe(true);
  });
});
