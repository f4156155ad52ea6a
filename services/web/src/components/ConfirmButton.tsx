import { Button, type ButtonProps, Group, Modal, Stack, Text, TextInput } from "@mantine/core";
import { type ReactNode, useState } from "react";
import { ErrorView } from "@/components/ErrorView";

/**
 * A destructive action behind a confirmation dialog; with `typeToConfirm` the user must type a
 * word (the project's name) before the action is enabled.
 */
export function ConfirmButton({
  label,
  title,
  message,
  confirmLabel,
  typeToConfirm,
  onConfirm,
  pending,
  error,
  ...buttonProps
}: {
  /** The button's text (a node: it may carry words for screen readers only). */
  label: ReactNode;
  title: string;
  message: ReactNode;
  confirmLabel: string;
  typeToConfirm?: string;
  onConfirm: () => Promise<unknown>;
  pending?: boolean;
  error?: unknown;
} & ButtonProps) {
  const [opened, setOpened] = useState(false);
  const [typed, setTyped] = useState("");
  const ready = !typeToConfirm || typed === typeToConfirm;
  return (
    <>
      <Button color="red.9" variant="outline" {...buttonProps} onClick={() => setOpened(true)}>
        {label}
      </Button>
      <Modal opened={opened} onClose={() => setOpened(false)} title={title}>
        <Stack gap="sm">
          <Text size="sm">{message}</Text>
          {typeToConfirm && (
            <TextInput
              label={`Type “${typeToConfirm}” to confirm`}
              value={typed}
              onChange={(e) => setTyped(e.currentTarget.value)}
              data-autofocus
            />
          )}
          {error ? <ErrorView error={error} /> : null}
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpened(false)}>
              Cancel
            </Button>
            <Button
              color="red.9"
              disabled={!ready}
              loading={pending}
              onClick={async () => {
                try {
                  await onConfirm();
                  setOpened(false);
                } catch {
                  // The error is shown in the dialog (the `error` prop).
                }
              }}
            >
              {confirmLabel}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}
