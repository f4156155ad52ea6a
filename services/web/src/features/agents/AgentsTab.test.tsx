import { screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderApp } from "@/test/app";
import { me, OWNER, PROJECT, PROJECT_ID, TOKENS, VIEWER } from "@/test/data";
import { jsonResponse, problemResponse } from "@/test/render";

function serve(user: string, create?: (body: unknown) => Response) {
  return renderApp(`/projects/${PROJECT_ID}/agents`, (method, url, body) => {
    if (url === "/api/v1/auth/refresh") return jsonResponse(TOKENS);
    if (url === "/api/v1/auth/me") return jsonResponse(me(user));
    if (url === `/api/v1/projects/${PROJECT_ID}`) return jsonResponse(PROJECT);
    if (url === "/api/v1/agents" && method === "GET") {
      return jsonResponse({ items: [], total: 0, limit: 20, offset: 0 });
    }
    if (url === "/api/v1/agents" && method === "POST" && create) return create(body);
    return undefined;
  });
}

describe("the Agents tab", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("test_a_new_agents_form_follows_its_type_and_shows_the_servers_errors_per_field", async () => {
    const sent: unknown[] = [];
    serve(OWNER, (body) => {
      sent.push(body);
      return problemResponse(422, {
        detail: "Invalid configuration for a custom agent",
        request_id: "rid-9",
        errors: [
          { field: "config.max_comments", message: "not for this type" },
          {
            field: "config.fail_under_score",
            message: "Input should be less than or equal to 100",
          },
        ],
      });
    });
    const user = userEvent.setup();
    await user.click(await screen.findByRole("button", { name: "New agent" }));
    const dialog = await screen.findByRole("dialog");
    expect(within(dialog).getByLabelText("Complexity threshold")).toHaveValue("10");
    await user.selectOptions(within(dialog).getByLabelText("Type"), "custom");
    expect(within(dialog).getByLabelText("Fail under score")).toHaveValue("");
    await user.type(within(dialog).getByLabelText(/^Name/), "Gate");
    await user.click(within(dialog).getByRole("checkbox", { name: "secrets" }));
    await user.type(within(dialog).getByLabelText("Fail under score"), "101");
    await user.click(within(dialog).getByRole("button", { name: "Create agent" }));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]).toMatchObject({
      project_id: PROJECT_ID,
      name: "Gate",
      type: "custom",
      config: { steps: ["lint", "secrets"], fail_under_score: 101, min_severity: "info" },
    });
    // Optional fields left empty are left out: the service's defaults apply.
    expect((sent[0] as { config: object }).config).not.toHaveProperty("timeout_seconds");
    const score = within(dialog).getByLabelText("Fail under score");
    await waitFor(() => expect(score).toHaveAttribute("aria-invalid", "true"));
    expect(within(dialog).getByText(/less than or equal to 100/)).toBeInTheDocument();
  });

  it("test_a_viewer_gets_the_list_without_the_new_agent_button", async () => {
    serve(VIEWER);
    expect(await screen.findByText(/This project has no agents yet\./)).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "New agent" })).toBeNull();
  });
});
