import { Alert, Button, Code, CopyButton, Group, Stack, Text } from "@mantine/core";

/** A secret the server shows only once (webhook secret, API key): copy it now, it will not come back. */
export function SecretOnce({
  title,
  secret,
  onDone,
  hint = "Copy it now and store it in GitHub's webhook settings: it is shown only this once.",
  copyLabel = "Copy secret",
}: {
  title: string;
  secret: string;
  onDone: () => void;
  hint?: string;
  copyLabel?: string;
}) {
  return (
    <Alert color="yellow" variant="light" title={title} role="status">
      <Stack gap="xs">
        <Text size="sm">{hint}</Text>
        <Code block data-testid="secret-value">
          {secret}
        </Code>
        <Group>
          <CopyButton value={secret}>
            {({ copied, copy }) => (
              <Button size="xs" onClick={copy} color={copied ? "#1e6a2e" : undefined}>
                {copied ? "Copied" : copyLabel}
              </Button>
            )}
          </CopyButton>
          <Button size="xs" variant="default" onClick={onDone}>
            I have stored it
          </Button>
        </Group>
      </Stack>
    </Alert>
  );
}
