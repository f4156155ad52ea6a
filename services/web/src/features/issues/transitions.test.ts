import { describe, expect, it } from "vitest";
import { canAssign, TRANSITIONS, transitionActions } from "@/features/issues/transitions";

describe("the issue status flow", () => {
  it("test_it_mirrors_the_issues_service_state_machine", () => {
    // swe_issues.issues.service.TRANSITIONS
    expect(TRANSITIONS).toEqual({
      open: ["in_progress", "closed"],
      in_progress: ["open", "in_review", "resolved", "closed"],
      in_review: ["open", "in_progress", "resolved", "closed"],
      resolved: ["open"],
      closed: ["open"],
    });
  });

  it("test_only_the_allowed_moves_are_offered", () => {
    const labels = (status: Parameters<typeof transitionActions>[0]) =>
      transitionActions(status).map((a) => a.label);
    expect(labels("open")).toEqual(["Start work", "Close"]);
    expect(labels("in_progress")).toEqual(["Stop work", "Ready for review", "Resolve…", "Close"]);
    expect(labels("in_review")).toEqual(["Stop work", "Back to work", "Resolve…", "Close"]);
    expect(labels("resolved")).toEqual(["Reopen"]);
    expect(labels("closed")).toEqual(["Reopen"]);
  });

  it("test_resolving_asks_for_a_resolution_first", () => {
    const resolve = transitionActions("in_progress").find((a) => a.target === "resolved");
    expect(resolve?.kind).toBe("resolve");
    expect(transitionActions("open").every((a) => a.kind === "status")).toBe(true);
  });

  it("test_agents_are_assigned_only_to_unfinished_issues", () => {
    expect(canAssign("open")).toBe(true);
    expect(canAssign("in_progress")).toBe(true);
    expect(canAssign("in_review")).toBe(false);
    expect(canAssign("resolved")).toBe(false);
    expect(canAssign("closed")).toBe(false);
  });
});
