import { describe, expect, it } from "vitest";
import { listQuery, PAGE_SIZE, parseIssueSearch, withFilter } from "@/features/issues/search";

const AGENT = "3f2b6a1e-0000-4000-8000-000000000001";

describe("the issues list's URL", () => {
  it("test_valid_filters_are_kept", () => {
    expect(
      parseIssueSearch({
        status: "in_progress",
        priority: "high",
        label: "bug",
        assignee: AGENT,
        q: "login fails",
        sort: "-priority",
        page: 3,
      }),
    ).toEqual({
      status: "in_progress",
      priority: "high",
      label: "bug",
      assignee: AGENT,
      q: "login fails",
      sort: "-priority",
      page: 3,
    });
  });

  it("test_values_the_api_would_refuse_are_dropped_not_sent", () => {
    expect(
      parseIssueSearch({
        status: "done",
        priority: "urgent",
        assignee: "not-a-uuid",
        sort: "-secret_column",
        page: -2,
        q: "   ",
        label: "x".repeat(51),
      }),
    ).toEqual({});
    expect(parseIssueSearch({ page: 1.5 })).toEqual({});
    expect(parseIssueSearch({ q: { nested: true } })).toEqual({});
  });

  it("test_numbers_the_router_parsed_from_text_become_text_again", () => {
    // The router reads `?q=123` as the number 123.
    expect(parseIssueSearch({ q: 123, label: 2024, page: "2" })).toEqual({
      q: "123",
      label: "2024",
      page: 2,
    });
  });

  it("test_defaults_stay_out_of_the_url", () => {
    expect(parseIssueSearch({ sort: "-created_at", page: 1 })).toEqual({});
  });

  it("test_changing_a_filter_goes_back_to_the_first_page", () => {
    const search = { status: "open" as const, page: 4 };
    expect(withFilter(search, "priority", "low")).toEqual({ status: "open", priority: "low" });
    expect(withFilter(search, "status", "")).toEqual({});
    expect(withFilter(search, "page", 5)).toEqual({ status: "open", page: 5 });
  });

  it("test_the_url_becomes_the_api_query", () => {
    expect(
      listQuery("p-1", { status: "open", label: "ui", assignee: AGENT, q: "crash", page: 3 }),
    ).toEqual({
      project_id: "p-1",
      status: "open",
      priority: undefined,
      labels: ["ui"],
      assigned_agent_id: AGENT,
      q: "crash",
      sort: "-created_at",
      limit: PAGE_SIZE,
      offset: 2 * PAGE_SIZE,
    });
  });
});
