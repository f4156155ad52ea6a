import { Badge, Group } from "@mantine/core";
import { screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { PageHeader } from "@/components/PageHeader";
import { renderWithTheme } from "@/test/render";

describe("PageHeader", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("test_title_is_the_pages_one_heading", () => {
    renderWithTheme(<PageHeader title="Projects" crumbs={[{ label: "Projects" }]} />);
    expect(screen.getByRole("heading", { level: 1, name: "Projects" })).toBeInTheDocument();
    expect(screen.getByText("Projects", { selector: "[aria-current=page]" })).toBeInTheDocument();
  });

  it("test_a_description_with_badges_is_valid_html", () => {
    // React reports an invalid nesting (a div inside a p) through console.error.
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    renderWithTheme(
      <PageHeader
        title="acme/api"
        description={
          <Group gap="xs">
            <Badge>main</Badge>
            <span>Owner: alice</span>
          </Group>
        }
      />,
    );
    const badge = screen.getByText("main");
    expect(badge.closest("p")).toBeNull();
    expect(screen.getByText("Owner: alice")).toBeVisible();
    expect(errors).not.toHaveBeenCalled();
  });
});
