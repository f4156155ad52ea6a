import { Breadcrumbs, Group, Stack, Text, Title } from "@mantine/core";
import type { ReactNode } from "react";
import { AnchorLink } from "@/components/links";

export interface Crumb {
  label: string;
  /** A path inside the app; the last crumb (the current page) has none. */
  to?: string;
}

/** Breadcrumbs, the page's one h1, and its actions. */
export function PageHeader({
  title,
  crumbs = [],
  description,
  actions,
}: {
  title: string;
  crumbs?: Crumb[];
  description?: ReactNode;
  actions?: ReactNode;
}) {
  return (
    <Stack gap={4} mb="md">
      {crumbs.length > 0 && (
        <nav aria-label="Breadcrumb">
          <Breadcrumbs separator="›">
            {crumbs.map((crumb) =>
              crumb.to ? (
                <AnchorLink to={crumb.to} key={crumb.label} size="sm">
                  {crumb.label}
                </AnchorLink>
              ) : (
                <Text size="sm" key={crumb.label} aria-current="page">
                  {crumb.label}
                </Text>
              ),
            )}
          </Breadcrumbs>
        </nav>
      )}
      <Group justify="space-between" align="flex-end" wrap="wrap">
        <Title order={1} size="h2">
          {title}
        </Title>
        {actions}
      </Group>
      {description && (
        // A div, not Text's default p: descriptions hold badges and groups (divs), which a
        // paragraph may not contain.
        <Text component="div" c="dimmed" size="sm">
          {description}
        </Text>
      )}
    </Stack>
  );
}
