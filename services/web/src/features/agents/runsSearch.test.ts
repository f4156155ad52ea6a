import { describe, expect, it } from "vitest";
import { validateProjectRunsSearch } from "@/features/agents/runsSearch";

describe("a project's runs in the URL", () => {
  it("test_keeps_what_the_api_takes_and_drops_the_rest", () => {
    const agent = "0b6f2d3e-8c1a-4e5f-9a7b-1c2d3e4f5a6b";
    expect(validateProjectRunsSearch({ status: "failed", agent, page: "3" })).toEqual({
      status: "failed",
      agent,
      page: 3,
    });
    expect(
      validateProjectRunsSearch({ status: "exploded", agent: "x'; drop", page: "1.5" }),
    ).toEqual({});
    expect(validateProjectRunsSearch({ page: 1 })).toEqual({});
  });
});
