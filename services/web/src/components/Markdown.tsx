import { Anchor } from "@mantine/core";
import ReactMarkdown from "react-markdown";

/**
 * Renders untrusted Markdown (issue bodies, PR titles, review comments) safely: raw HTML in the
 * source is dropped (never parsed into elements), and react-markdown's URL filter removes
 * `javascript:`/`data:` links. Links open without giving the target access to this page.
 */
export function Markdown({ children }: { children: string }) {
  return (
    <div className="swe-markdown">
      <ReactMarkdown
        skipHtml
        components={{
          a: ({ href, children: text }) => (
            <Anchor href={href} target="_blank" rel="noopener noreferrer nofollow">
              {text}
            </Anchor>
          ),
          img: ({ alt }) => <span>{alt ? `[image: ${alt}]` : "[image]"}</span>,
        }}
      >
        {children}
      </ReactMarkdown>
    </div>
  );
}
