import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GatewayService } from "@/api/gateway";
import type { AdminUserOut } from "@/client/types.gen";
import { detailsLine } from "@/features/admin/AuditPage";
import { instanceHealth, isLastServing } from "@/features/admin/GatewayPage";
import { userStatus } from "@/features/admin/UsersPage";
import { renderApp } from "@/test/app";
import { meAs, TOKENS } from "@/test/data";
import { jsonResponse, problemResponse } from "@/test/render";

const ADMIN = meAs({
  id: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
  username: "root",
  roles: ["admin"],
});
const EMPTY_PAGE = { items: [], total: 0, limit: 20, offset: 0 };

function bob(overrides: Partial<AdminUserOut> = {}): AdminUserOut {
  return {
    ...meAs({
      id: "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb",
      username: "bob",
      email: "bob@example.com",
    }),
    locked: false,
    admin_locked: false,
    locked_until: null,
    ...overrides,
  };
}

describe("administration", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_a_user_sees_no_administration_link_and_not_found_on_its_urls", async () => {
    const { calls } = renderApp("/admin/users", (_method, path) => {
      if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
      if (path === "/api/v1/auth/me") return jsonResponse(meAs());
      if (path === "/api/v1/auth/admin/users")
        return problemResponse(403, { detail: "admin only" });
      return undefined;
    });
    expect(await screen.findByRole("heading", { name: "Not found" })).toBeInTheDocument();
    const nav = screen.getByRole("navigation", { name: "Main navigation" });
    expect(within(nav).getByRole("link", { name: "Projects" })).toBeInTheDocument();
    expect(within(nav).queryByRole("link", { name: "Administration" })).toBeNull();
    // The page does not even ask: the role is known from /me.
    expect(calls.some((c) => c.path.startsWith("/api/v1/auth/admin"))).toBe(false);
  });

  it("test_an_admin_locks_a_user_after_confirming_and_the_row_says_locked", async () => {
    let current = bob();
    const { calls } = renderApp("/admin/users?q=bob", (method, path) => {
      if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
      if (path === "/api/v1/auth/me") return jsonResponse(ADMIN);
      if (path === "/api/v1/auth/admin/users" && method === "GET") {
        return jsonResponse({ ...EMPTY_PAGE, items: [current], total: 1 });
      }
      if (path === `/api/v1/auth/admin/users/${current.id}/lock` && method === "POST") {
        current = bob({ admin_locked: true, locked: true });
        return jsonResponse(current);
      }
      return undefined;
    });
    const user = userEvent.setup();
    const nav = await screen.findByRole("navigation", { name: "Main navigation" });
    expect(await within(nav).findByRole("link", { name: "Administration" })).toBeInTheDocument();
    const row = await screen.findByTestId("user-row");
    expect(calls.find((c) => c.path.startsWith("/api/v1/auth/admin/users?"))?.path).toContain(
      "q=bob",
    );

    await user.click(within(row).getByRole("button", { name: "Lock bob" }));
    const dialog = await screen.findByRole("dialog");
    expect(calls.some((c) => c.path.endsWith("/lock"))).toBe(false);
    await user.click(within(dialog).getByRole("button", { name: "Lock account" }));
    await waitFor(() =>
      expect(within(screen.getByTestId("user-row")).getByText("locked")).toBeInTheDocument(),
    );
    expect(
      within(screen.getByTestId("user-row")).getByRole("button", { name: "Unlock bob" }),
    ).toBeInTheDocument();
  });

  it("test_an_admin_cannot_lock_or_disable_themselves_from_the_list", async () => {
    renderApp("/admin/users", (_method, path) => {
      if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
      if (path === "/api/v1/auth/me") return jsonResponse(ADMIN);
      if (path === "/api/v1/auth/admin/users") {
        return jsonResponse({ ...EMPTY_PAGE, items: [{ ...bob(), ...ADMIN }], total: 1 });
      }
      return undefined;
    });
    const row = await screen.findByTestId("user-row");
    expect(within(row).getByText("root (you)")).toBeInTheDocument();
    expect(within(row).queryByRole("button", { name: /Lock|Disable/ })).toBeNull();
  });

  it("test_draining_an_instance_sets_its_weight_to_zero", async () => {
    const services: GatewayService[] = [
      {
        name: "issues",
        breaker: { state: "closed", consecutive_failures: 0, requests: 10 },
        instances: [
          {
            url: "http://127.0.0.1:8004",
            weight: 1,
            healthy: true,
            ejected: false,
            ejected_for_seconds: 0,
            ejections: 0,
            consecutive_failures: 0,
          },
        ],
      },
    ];
    const { calls } = renderApp("/admin/gateway", (method, path) => {
      if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
      if (path === "/api/v1/auth/me") return jsonResponse(ADMIN);
      if (path === "/api/v1/gateway/admin/services") return jsonResponse({ items: services });
      if (path === "/api/v1/gateway/admin/services/issues/instances" && method === "POST") {
        return jsonResponse({ ...services[0]?.instances[0], weight: 0 });
      }
      return undefined;
    });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "Drain http://127.0.0.1:8004" }));
    const dialog = await screen.findByRole("dialog");
    // The only instance: the dialog says what draining it means.
    expect(dialog).toHaveTextContent("leaves issues unreachable");
    await user.click(within(dialog).getByRole("button", { name: "Drain instance" }));
    await waitFor(() =>
      expect(calls.find((c) => c.method === "POST" && c.path.includes("/instances"))?.body).toEqual(
        {
          url: "http://127.0.0.1:8004",
          weight: 0,
        },
      ),
    );
  });

  it("test_statuses_in_words", () => {
    expect(userStatus(bob()).map((s) => s.label)).toEqual(["active"]);
    expect(
      userStatus(bob({ is_active: false, admin_locked: true, locked: true })).map((s) => s.label),
    ).toEqual(["disabled", "locked"]);
    const instance = {
      url: "http://a",
      weight: 1,
      healthy: true,
      ejected: false,
      ejected_for_seconds: 0,
      ejections: 0,
      consecutive_failures: 0,
    };
    expect(instanceHealth(instance).label).toBe("healthy");
    expect(instanceHealth({ ...instance, weight: 0 }).label).toBe("drained");
    expect(instanceHealth({ ...instance, ejected: true, ejected_for_seconds: 12.5 }).label).toBe(
      "ejected for 12.5 s",
    );
    const service: GatewayService = {
      name: "s",
      breaker: { state: "closed", consecutive_failures: 0, requests: 0 },
      instances: [instance, { ...instance, url: "http://b", weight: 0 }],
    };
    expect(isLastServing(service, "http://a")).toBe(true);
    expect(isLastServing(service, "http://b")).toBe(false);
    expect(detailsLine({ before: ["user"], after: ["admin"], email: "a@b.c" })).toBe(
      'before=["user"] after=["admin"] email=a@b.c',
    );
  });
});
