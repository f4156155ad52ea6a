import { describe, expect, it } from "vitest";
import { currentTab } from "@/components/SectionTabs";

const TABS = [
  { label: "Profile", to: "/account" },
  { label: "Sessions", to: "/account/sessions" },
];

describe("section tabs", () => {
  it("test_the_longest_matching_tab_is_current_and_the_first_otherwise", () => {
    expect(currentTab(TABS, "/account").label).toBe("Profile");
    expect(currentTab(TABS, "/account/").label).toBe("Profile");
    expect(currentTab(TABS, "/account/sessions").label).toBe("Sessions");
    expect(currentTab(TABS, "/account/sessionsx").label).toBe("Profile");
    expect(currentTab(TABS, "/elsewhere").label).toBe("Profile");
  });
});
