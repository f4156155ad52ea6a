import "./log.css";
import { Badge, Button, Group, Stack, Text } from "@mantine/core";
import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { getAccessToken, renewSession } from "@/lib/auth";
import { LiveLog, type LiveState, type LogLine } from "@/lib/liveLog";

const STATE_TEXT: Record<LiveState, string> = {
  connecting: "Connecting…",
  open: "Live",
  reconnecting: "Connection lost: reconnecting…",
  ended: "Finished",
  failed: "Not connected",
};

/** The run's log lines as they come, and the connection's state. */
export function useLiveLog(runId: string, onEnd: (status: string) => void) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [state, setState] = useState<{ state: LiveState; detail?: string }>({
    state: "connecting",
  });
  const endRef = useRef(onEnd);
  endRef.current = onEnd;

  useEffect(() => {
    setLines([]);
    // Lines come one message each: they are shown together at most every 100 ms, so a fast
    // run (thousands of lines) renders a few times, not thousands.
    let buffer: LogLine[] = [];
    let timer: ReturnType<typeof setTimeout> | null = null;
    const flush = () => {
      timer = null;
      const batch = buffer;
      buffer = [];
      setLines((previous) => previous.concat(batch));
    };
    const live = new LiveLog({
      runId,
      token: getAccessToken,
      renewToken: renewSession,
      onLines: (batch) => {
        buffer.push(...batch);
        timer ??= setTimeout(flush, 100);
      },
      onEnd: (status) => {
        if (timer) clearTimeout(timer);
        flush();
        endRef.current(status);
      },
      onState: (next, detail) => setState({ state: next, detail }),
    });
    live.start();
    return () => {
      live.stop();
      if (timer) clearTimeout(timer);
    };
  }, [runId]);

  return { lines, ...state };
}

/**
 * The log, following its end while the reader is there; scrolling up stops the following
 * (and offers a way back), scrolling back to the end resumes it.
 */
export function LiveLogView({
  lines,
  state,
  detail,
}: {
  lines: LogLine[];
  state: LiveState;
  detail?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);

  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when lines are added
  useLayoutEffect(() => {
    const element = box.current;
    if (element && follow) element.scrollTop = element.scrollHeight;
  }, [lines.length, follow]);

  const onScroll = () => {
    const element = box.current;
    if (!element) return;
    const atEnd = element.scrollTop + element.clientHeight >= element.scrollHeight - 8;
    if (atEnd !== follow) setFollow(atEnd);
  };

  return (
    <Stack gap="xs">
      <Group justify="space-between">
        <Group gap="xs">
          <Badge
            variant="outline"
            color={state === "open" ? "#1e6a2e" : state === "reconnecting" ? "#9c4200" : "gray.8"}
            data-testid="live-state"
          >
            {STATE_TEXT[state]}
          </Badge>
          {detail && (
            <Text size="sm" c="red.9">
              {detail}
            </Text>
          )}
          <Text size="sm" c="dimmed">
            {lines.length} line{lines.length === 1 ? "" : "s"}
          </Text>
        </Group>
        {!follow && (
          <Button size="xs" variant="default" onClick={() => setFollow(true)}>
            Follow the latest lines
          </Button>
        )}
      </Group>
      <div
        ref={box}
        role="log"
        aria-label="Run log"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard
        tabIndex={0}
        className="swe-log"
        onScroll={onScroll}
      >
        {lines.length === 0 && <div className="swe-log-empty">No log lines yet.</div>}
        {lines.map((line) => (
          <div key={line.seq} className="swe-log-line" data-seq={line.seq} data-level={line.level}>
            <span className="swe-log-seq">{line.seq}</span>
            <span className="swe-log-time">{line.at.slice(11, 19)}</span>
            <span className="swe-log-message">{line.message}</span>
          </div>
        ))}
      </div>
    </Stack>
  );
}
