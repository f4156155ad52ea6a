import "@mantine/core/styles.css";
import "@mantine/notifications/styles.css";
import "./styles.css";
import { MantineProvider } from "@mantine/core";
import { Notifications } from "@mantine/notifications";
import { QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { configureApiClient } from "@/lib/api-client";
import { listenToOtherTabs, onSessionExpired, type SignOutReason } from "@/lib/auth";
import { createQueryClient } from "@/lib/query";
import { createAppRouter } from "@/router";
import { cssVariablesResolver, theme } from "@/theme";

configureApiClient();
const queryClient = createQueryClient();
const router = createAppRouter(queryClient);

function toSignIn(reason: SignOutReason): void {
  queryClient.clear();
  const here = router.state.location.href;
  void router.navigate({
    to: "/sign-in",
    search: here.startsWith("/sign-in") ? { reason } : { redirect: here, reason },
  });
}

// A 401 that a refresh could not cure (the server ended the session: revoked, locked,
// disabled), or a sign-out in another tab: back to the sign-in page, which says why,
// remembering where the user was.
onSessionExpired(() => toSignIn("ended"));
listenToOtherTabs(() => toSignIn("signed-out"));

const root = document.getElementById("root");
if (!root) throw new Error("index.html has no #root element");
createRoot(root).render(
  <StrictMode>
    <MantineProvider
      theme={theme}
      cssVariablesResolver={cssVariablesResolver}
      defaultColorScheme="light"
    >
      <Notifications />
      <QueryClientProvider client={queryClient}>
        <RouterProvider router={router} />
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
