import { Paper, Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";
import { ConnectionBanner } from "@/components/ConnectionBanner";

/** The frame of the signed-out pages: one card, one h1, in <main>. */
export function AuthCard({
  title,
  subtitle,
  children,
}: {
  title: string;
  subtitle?: ReactNode;
  children: ReactNode;
}) {
  return (
    <>
      <ConnectionBanner />
      <main id="main" className="swe-auth-page">
        <Paper withBorder shadow="xs" p="xl" w="100%" maw={420} radius="md">
          <Stack gap="md">
            <Stack gap={4}>
              <Text size="sm" fw={700} c="dimmed">
                SWE platform
              </Text>
              <Title order={1} size="h2">
                {title}
              </Title>
              {subtitle && (
                <Text size="sm" c="dimmed">
                  {subtitle}
                </Text>
              )}
            </Stack>
            {children}
          </Stack>
        </Paper>
      </main>
    </>
  );
}
