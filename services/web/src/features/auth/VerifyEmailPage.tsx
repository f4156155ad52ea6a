import { Alert, Loader, Stack, Text } from "@mantine/core";
import { useSearch } from "@tanstack/react-router";
import { useEffect, useRef } from "react";
import { useConfirmVerification } from "@/api/auth";
import { AnchorLink, ButtonLink } from "@/components/links";
import { AuthCard } from "@/features/auth/AuthCard";
import { ApiError } from "@/lib/errors";

/** /verify-email?token=… (the link mailed to an address) marks the address verified. */
export function VerifyEmailPage() {
  const { token } = useSearch({ from: "/verify-email" });
  const confirm = useConfirmVerification();
  const sent = useRef(false);
  useEffect(() => {
    // Once per page: the token is single-use (React may run effects twice in development).
    if (token && !sent.current) {
      sent.current = true;
      confirm.mutate(token);
    }
  }, [token, confirm]);

  if (!token || confirm.isError) {
    const detail =
      confirm.error instanceof ApiError
        ? confirm.error.message
        : "This page needs the link from the verification mail.";
    return (
      <AuthCard title="The address could not be verified">
        <Alert color="red" variant="light" role="alert">
          {detail}
        </Alert>
        <Text size="sm">
          Signed in? Ask for a new link on <AnchorLink to="/account">your account page</AnchorLink>.
        </Text>
      </AuthCard>
    );
  }
  if (confirm.isSuccess) {
    return (
      <AuthCard title="Address verified">
        <Alert color="green" variant="light" role="status">
          Thank you: your e-mail address is verified.
        </Alert>
        <ButtonLink to="/" fullWidth>
          Continue
        </ButtonLink>
      </AuthCard>
    );
  }
  return (
    <AuthCard title="Verifying your address">
      <Stack align="center">
        <Loader aria-label="Verifying" />
      </Stack>
    </AuthCard>
  );
}
