import { describe, expect, it } from "vitest";
import { Markdown } from "@/components/Markdown";
import { renderWithTheme } from "@/test/render";

describe("Markdown", () => {
  it("test_script_tags_render_inert", () => {
    const { container } = renderWithTheme(
      <Markdown>{"Hello <script>window.__pwned = 1</script> **world**"}</Markdown>,
    );
    expect(container.querySelector("script")).toBeNull();
    expect(container.querySelector("strong")).toHaveTextContent("world");
    expect((window as unknown as { __pwned?: number }).__pwned).toBeUndefined();
  });

  it("test_event_handler_attributes_are_dropped", () => {
    const { container } = renderWithTheme(
      <Markdown>
        {'<img src="x" onerror="window.__pwned = 2">\n\n<div onclick="x()">hi</div>'}
      </Markdown>,
    );
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("[onerror]")).toBeNull();
    expect(container.querySelector("[onclick]")).toBeNull();
  });

  it("test_javascript_links_lose_their_href", () => {
    const { container } = renderWithTheme(
      <Markdown>{"[click](javascript:alert(1)) and [ok](https://example.com)"}</Markdown>,
    );
    const links = [...container.querySelectorAll("a")];
    expect(links.map((a) => a.getAttribute("href") ?? "")).not.toContain("javascript:alert(1)");
    const safe = links.find((a) => a.textContent === "ok");
    expect(safe).toHaveAttribute("href", "https://example.com");
    expect(safe).toHaveAttribute("rel", "noopener noreferrer nofollow");
  });

  it("test_markdown_images_do_not_load", () => {
    const { container } = renderWithTheme(
      <Markdown>{"![tracker](https://evil.example/p.gif)"}</Markdown>,
    );
    expect(container.querySelector("img")).toBeNull();
    expect(container).toHaveTextContent("[image: tracker]");
  });
});
