import { Skeleton, Stack, Switch, Text } from "@mantine/core";
import { useNoticePreferences, useUpdateNoticePreferences } from "@/api/account";
import { useMe } from "@/api/auth";
import type { NoticePreferences } from "@/client/types.gen";
import { ErrorView } from "@/components/ErrorView";
import { FormError } from "@/components/FormError";
import { Section } from "@/components/Section";

const NOTICES: { key: keyof NoticePreferences; label: string; description: string }[] = [
  {
    key: "issue_assigned",
    label: "An issue I opened is assigned to an agent",
    description: "Issues are assigned to agents; you hear when one of yours is picked up.",
  },
  {
    key: "review_finished",
    label: "A review of a pull request of my project finished",
    description: "For the projects you own: the verdict and how many comments it left.",
  },
  {
    key: "run_failed",
    label: "An agent run of my project failed",
    description: "For the projects you own: which run, and why it stopped.",
  },
];

/** The opt-in notices mailed to the account's (verified) address; each switch saves at once. */
export function NotificationsPage() {
  const me = useMe();
  const preferences = useNoticePreferences();
  const update = useUpdateNoticePreferences();
  if (preferences.isPending || me.isPending) return <Skeleton h={200} />;
  if (preferences.isError) {
    return <ErrorView error={preferences.error} onRetry={() => preferences.refetch()} />;
  }
  const values = preferences.data;
  return (
    <Section id="notifications" title="Notices by mail">
      <Stack gap="md" maw={560}>
        <Text size="sm">
          Mail to {me.data?.email ?? "your address"} when something you care about happens. They are
          off until you turn them on.
          {me.data && !me.data.email_verified && " They start once your address is verified."}
        </Text>
        {NOTICES.map((notice) => (
          <Switch
            key={notice.key}
            label={notice.label}
            description={notice.description}
            checked={values[notice.key]}
            onChange={(event) => update.mutate({ [notice.key]: event.currentTarget.checked })}
          />
        ))}
        <FormError error={update.error} fields={[]} />
      </Stack>
    </Section>
  );
}
