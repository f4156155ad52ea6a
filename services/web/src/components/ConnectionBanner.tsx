import { Alert, Text } from "@mantine/core";
import { RequestId } from "@/components/ErrorView";
import { useConnection } from "@/lib/connection";

/** Shown while the platform is unreachable or unavailable; queries keep retrying meanwhile. */
export function ConnectionBanner() {
  const connection = useConnection();
  if (connection.up) return null;
  return (
    <Alert color="orange" variant="light" radius={0} role="status" title="Connection problem">
      <Text size="sm">{connection.message} Retrying automatically.</Text>
      {connection.requestId && <RequestId id={connection.requestId} />}
    </Alert>
  );
}
