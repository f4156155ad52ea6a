import { Alert, Badge, Button, Code, Group, Stack, Text } from "@mantine/core";
import { describeError } from "@/lib/errors";

export interface ErrorViewProps {
  error: unknown;
  /** Shown as a "Try again" button when the error may go away on retry. */
  onRetry?: () => void;
  title?: string;
  /** Replaces the server's detail (e.g. when each field already shows its own message). */
  message?: string;
}

/** The one way an error is shown: what happened, what to do, and the request id to report. */
export function ErrorView({ error, onRetry, title, message }: ErrorViewProps) {
  const info = describeError(error);
  return (
    <Alert color="red" variant="light" title={title ?? info.title} role="alert">
      <Stack gap="xs">
        <Text size="sm">{message ?? info.message}</Text>
        {info.allowedTransitions.length > 0 && (
          <Group gap="xs">
            <Text size="sm">Allowed next states:</Text>
            {info.allowedTransitions.map((state) => (
              <Badge key={state} variant="outline" color="dark">
                {state}
              </Badge>
            ))}
          </Group>
        )}
        {info.requestId && <RequestId id={info.requestId} />}
        {onRetry && (
          <Group>
            <Button size="xs" variant="default" onClick={onRetry}>
              Try again
            </Button>
          </Group>
        )}
      </Stack>
    </Alert>
  );
}

export function RequestId({ id }: { id: string }) {
  return (
    <Text size="xs">
      Request id (quote it when reporting a problem): <Code>{id}</Code>
    </Text>
  );
}
