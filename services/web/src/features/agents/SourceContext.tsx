/**
 * The source lines kept around a finding (GET /runs/{id}/source): its line marked, five lines
 * either side. Repository content is untrusted: every line is a React text node inside
 * <code>, never markup.
 */
import "./source.css";
import { Skeleton, Text } from "@mantine/core";
import { useRunSource } from "@/api/agents";
import { ErrorView } from "@/components/ErrorView";
import { ApiError } from "@/lib/errors";

export function SourceContext({
  runId,
  path,
  line,
}: {
  runId: string;
  path: string;
  line: number;
}) {
  const source = useRunSource(runId, path, line);
  if (source.isPending) return <Skeleton h={120} />;
  if (source.isError) {
    if (source.error instanceof ApiError && source.error.status === 404) {
      return <Text size="sm">No source lines were kept for this finding.</Text>;
    }
    return <ErrorView error={source.error} onRetry={() => source.refetch()} />;
  }
  const { lines, start_line, end_line } = source.data;
  return (
    <figure
      className="swe-source"
      aria-label={`Source of ${path}, lines ${start_line}–${end_line}`}
    >
      <figcaption className="swe-source-caption">
        <code>{path}</code> lines {start_line}–{end_line}
      </figcaption>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard */}
      <section className="swe-source-lines" tabIndex={0} aria-label={`${path} source`}>
        {lines.map((entry) => {
          const current = entry.number === line;
          return (
            <div
              key={entry.number}
              className="swe-source-line"
              data-current={current || undefined}
              data-line={entry.number}
            >
              <span className="swe-source-number">{entry.number}</span>
              <code className="swe-source-text">
                {current && <span className="sr-only">Finding line: </span>}
                {entry.text}
                {entry.truncated && <span className="swe-source-cut"> … (cut)</span>}
              </code>
            </div>
          );
        })}
      </section>
    </figure>
  );
}
