import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GatewayService } from "@/api/gateway";
import type { AdminUserOut } from "@/client/types.gen";
import { detailsLine } from "@/features/admin/AuditPage";
import { instanceHealth, isLastServing, registerSchema } from "@/features/admin/GatewayPage";
import { userStatus } from "@/features/admin/UsersPage";
import { renderApp } from "@/test/app";
import { meAs, TOKENS } from "@/test/data";
import { jsonResponse, problemResponse } from "@/test/render";

const ADMIN = meAs({
  id: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa",
  username: "root",
  roles: ["admin"],
});
const HEALTHY = {
  weight: 1,
  healthy: true,
  ejected: false,
  ejected_for_seconds: 0,
  ejections: 0,
  consecutive_failures: 0,
};

function gatewayService(name: string, overrides: Partial<GatewayService> = {}): GatewayService {
  return {
    name,
    breaker: { state: "closed", consecutive_failures: 0, requests: 0 },
    instances: [{ ...HEALTHY, url: `http://127.0.0.1:80${name.length}` }],
    source: "file",
    changed_at_runtime: false,
    routes: [`/api/v1/${name}`],
    ...overrides,
  };
}

/** The gateway page over a list of services the test changes; `put` answers the PUT. */
function renderGateway(
  services: GatewayService[],
  put: (name: string, body: unknown) => Response = () => jsonResponse({}, 201),
) {
  return renderApp("/admin/gateway", (method, path, body) => {
    if (path === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
    if (path === "/api/v1/auth/me") return jsonResponse(ADMIN);
    if (path === "/api/v1/gateway/admin/services" && method === "GET") {
      return jsonResponse({ items: services });
    }
    const named = /^\/api\/v1\/gateway\/admin\/services\/([^/]+)$/.exec(path);
    if (named?.[1] && method === "PUT") return put(named[1], body);
    if (named?.[1] && method === "DELETE") {
      const index = services.findIndex((s) => s.name === named[1]);
      if (index >= 0) services.splice(index, 1);
      return new Response(null, { status: 204 });
    }
    return undefined;
  });
}

/** Fills the register form: name, then one row per prefix and per instance. */
async function fillRegistration(
  user: ReturnType<typeof userEvent.setup>,
  name: string,
  prefixes: string[],
  instances: { url: string; weight: number }[],
) {
  const form = await screen.findByRole("form", { name: "Register a service" });
  await user.type(within(form).getByLabelText("Service name"), name);
  for (const [index, prefix] of prefixes.entries()) {
    if (index > 0)
      await user.click(within(form).getByRole("button", { name: "Add a route prefix" }));
    await user.type(within(form).getByLabelText(`Route prefix ${index + 1}`), prefix);
  }
  for (const [index, instance] of instances.entries()) {
    if (index > 0) await user.click(within(form).getByRole("button", { name: "Add an instance" }));
    await user.type(within(form).getByLabelText(`Instance ${index + 1} URL`), instance.url);
    const weight = within(form).getByLabelText(`Instance ${index + 1} weight`);
    await user.clear(weight);
    await user.type(weight, String(instance.weight));
  }
  return form;
}

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
        source: "file",
        changed_at_runtime: false,
        routes: ["/api/v1/issues"],
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

  it("test_registering_a_service_sends_its_routes_and_instances_and_its_card_appears", async () => {
    const services = [gatewayService("issues")];
    const { calls } = renderGateway(services, (name, body) => {
      const sent = body as { routes: { prefix: string }[]; instances: GatewayService["instances"] };
      const made = gatewayService(name, {
        source: "runtime",
        routes: sent.routes.map((r) => r.prefix),
        instances: sent.instances.map((i) => ({ ...HEALTHY, ...i })),
      });
      services.push(made);
      return jsonResponse(made, 201);
    });
    const user = userEvent.setup();
    const form = await fillRegistration(
      user,
      "reports",
      ["/api/v1/reports", "/api/v1/exports"],
      [
        { url: "http://127.0.0.1:8011", weight: 3 },
        { url: "http://127.0.0.1:8012", weight: 0 },
      ],
    );
    await user.click(within(form).getByRole("button", { name: "Register service" }));
    const card = await screen.findByRole("region", { name: "reports" });
    expect(calls.find((c) => c.method === "PUT")).toMatchObject({
      path: "/api/v1/gateway/admin/services/reports",
      body: {
        routes: [{ prefix: "/api/v1/reports" }, { prefix: "/api/v1/exports" }],
        instances: [
          { url: "http://127.0.0.1:8011", weight: 3 },
          { url: "http://127.0.0.1:8012", weight: 0 },
        ],
      },
    });
    expect(within(card).getByText("/api/v1/exports")).toBeInTheDocument();
    expect(within(card).getByText("registered here")).toBeInTheDocument();
    expect(within(form).getByRole("status")).toHaveTextContent("Registered reports");
    // The form is empty again, ready for the next service.
    expect(within(form).getByLabelText("Service name")).toHaveValue("");
  });

  it("test_a_bad_name_or_prefix_is_refused_at_the_field_before_asking", async () => {
    const { calls } = renderGateway([gatewayService("issues")]);
    const user = userEvent.setup();
    const form = await fillRegistration(
      user,
      "Reports",
      ["/health/x", "api"],
      [{ url: "ftp://x", weight: 1 }],
    );
    await user.click(within(form).getByRole("button", { name: "Register service" }));
    const name = within(form).getByLabelText("Service name");
    await waitFor(() => expect(name).toHaveAttribute("aria-invalid", "true"));
    expect(within(form).getByLabelText("Route prefix 1")).toHaveAccessibleDescription(
      "The gateway answers this path itself",
    );
    expect(within(form).getByLabelText("Route prefix 2")).toHaveAttribute("aria-invalid", "true");
    expect(within(form).getByLabelText("Instance 1 URL")).toHaveAttribute("aria-invalid", "true");
    expect(calls.some((c) => c.method === "PUT")).toBe(false);
  });

  it("test_a_list_takes_rows_up_to_the_gateways_limit_and_says_so_past_it", async () => {
    renderGateway([gatewayService("issues")]);
    const user = userEvent.setup();
    const form = await screen.findByRole("form", { name: "Register a service" });
    const add = within(form).getByRole("button", { name: "Add a route prefix" });
    for (let i = 1; i < 20; i += 1) await user.click(add);
    expect(within(form).getByLabelText("Route prefix 20")).toBeInTheDocument();
    expect(add).toBeDisabled();
    await user.click(within(form).getByRole("button", { name: "Remove route prefix 20" }));
    expect(add).toBeEnabled();
    expect(within(form).getByRole("button", { name: "Add an instance" })).toBeEnabled();
    // Past the limit (the gateway's ServiceIn) the list's own error names it.
    const rows = registerSchema.safeParse({
      name: "reports",
      routes: [{ prefix: "/api/v1/reports" }],
      instances: Array.from({ length: 101 }, (_, i) => ({ url: `http://h${i}:80`, weight: 1 })),
    });
    expect(rows.error?.issues.map((issue) => [issue.path.join("."), issue.message])).toEqual([
      ["instances", "At most 100 instances"],
    ]);
  });

  it("test_the_gateways_422_is_shown_at_the_instance_it_names", async () => {
    renderGateway([gatewayService("issues")], () =>
      problemResponse(422, {
        title: "Unprocessable",
        detail: "not an http(s) URL: 'http://:8011'",
        errors: [{ field: "instances.1.url", message: "not an http(s) URL: 'http://:8011'" }],
      }),
    );
    const user = userEvent.setup();
    const form = await fillRegistration(
      user,
      "reports",
      ["/api/v1/reports"],
      [
        { url: "http://127.0.0.1:8011", weight: 1 },
        { url: "http://:8011", weight: 1 },
      ],
    );
    await user.click(within(form).getByRole("button", { name: "Register service" }));
    const second = within(form).getByLabelText("Instance 2 URL");
    await waitFor(() => expect(second).toHaveAttribute("aria-invalid", "true"));
    expect(second).toHaveAccessibleDescription("not an http(s) URL: 'http://:8011'");
    expect(within(form).getByLabelText("Instance 1 URL")).not.toHaveAttribute(
      "aria-invalid",
      "true",
    );
    expect(within(form).getByRole("alert")).toHaveTextContent("Check the highlighted fields");
    expect(screen.queryByRole("region", { name: "reports" })).toBeNull();
  });

  it("test_a_prefix_another_service_owns_says_which_and_marks_the_prefix", async () => {
    renderGateway([gatewayService("issues")], () =>
      problemResponse(409, {
        title: "Conflict",
        detail: "/api/v1/issues is already routed to issues",
        prefix: "/api/v1/issues",
      }),
    );
    const user = userEvent.setup();
    const form = await fillRegistration(
      user,
      "reports",
      ["/api/v1/reports", "/api/v1/issues"],
      [{ url: "http://127.0.0.1:8011", weight: 1 }],
    );
    await user.click(within(form).getByRole("button", { name: "Register service" }));
    expect(await within(form).findByRole("alert")).toHaveTextContent(
      "/api/v1/issues is already routed to issues",
    );
    expect(within(form).getByLabelText("Route prefix 2")).toHaveAttribute("aria-invalid", "true");
    expect(within(form).getByLabelText("Route prefix 1")).not.toHaveAttribute(
      "aria-invalid",
      "true",
    );
    // What was typed stays, to correct.
    expect(within(form).getByLabelText("Service name")).toHaveValue("reports");
  });

  it("test_removing_a_registered_service_asks_first_and_its_card_goes", async () => {
    const services = [
      gatewayService("issues", { changed_at_runtime: true }),
      gatewayService("reports", { source: "runtime" }),
      gatewayService("projects"),
    ];
    const { calls } = renderGateway(services);
    const user = userEvent.setup();
    const reports = await screen.findByRole("region", { name: "reports" });
    // A file service someone changed offers a reset; one nobody changed offers nothing.
    expect(
      within(screen.getByRole("region", { name: "issues" })).getByRole("button", {
        name: "Reset to file configuration: issues",
      }),
    ).toBeInTheDocument();
    expect(
      within(screen.getByRole("region", { name: "projects" })).queryByRole("button", {
        name: /Remove service|file configuration/,
      }),
    ).toBeNull();

    await user.click(within(reports).getByRole("button", { name: "Remove service reports" }));
    const dialog = await screen.findByRole("dialog");
    expect(dialog).toHaveTextContent("/api/v1/reports");
    expect(calls.some((c) => c.method === "DELETE")).toBe(false);
    await user.click(within(dialog).getByRole("button", { name: "Remove service" }));
    await waitFor(() => expect(screen.queryByRole("region", { name: "reports" })).toBeNull());
    expect(calls.filter((c) => c.method === "DELETE").map((c) => c.path)).toEqual([
      "/api/v1/gateway/admin/services/reports",
    ]);
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
      source: "runtime",
      changed_at_runtime: false,
      routes: [],
    };
    expect(isLastServing(service, "http://a")).toBe(true);
    expect(isLastServing(service, "http://b")).toBe(false);
    expect(detailsLine({ before: ["user"], after: ["admin"], email: "a@b.c" })).toBe(
      'before=["user"] after=["admin"] email=a@b.c',
    );
  });
});
