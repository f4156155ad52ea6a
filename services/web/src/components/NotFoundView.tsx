import { Stack, Text, Title } from "@mantine/core";
import { RequestId } from "@/components/ErrorView";
import { AnchorLink } from "@/components/links";
import { ApiError } from "@/lib/errors";

/** A page for something that does not exist or that the caller may not see (one answer: 404). */
export function NotFoundView({ what = "page", error }: { what?: string; error?: unknown }) {
  const requestId = error instanceof ApiError ? error.requestId : null;
  return (
    <Stack gap="sm" py="xl">
      <Title order={1}>Not found</Title>
      <Text>
        This {what} does not exist, or you do not have access to it. If someone shared the link, ask
        them to add you.
      </Text>
      {requestId && <RequestId id={requestId} />}
      <AnchorLink to="/">Go to your home page</AnchorLink>
    </Stack>
  );
}
