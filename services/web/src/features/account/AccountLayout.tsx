import { Outlet, useRouterState } from "@tanstack/react-router";
import { PageHeader } from "@/components/PageHeader";
import { currentTab, SectionTabs } from "@/components/SectionTabs";

const TABS = [
  { label: "Profile", to: "/account" },
  { label: "Password and two-factor", to: "/account/security" },
  { label: "Sessions", to: "/account/sessions" },
  { label: "API keys", to: "/account/api-keys" },
  { label: "Notifications", to: "/account/notifications" },
] as const;

/** The signed-in user's own settings, reached from the account menu. */
export function AccountLayout() {
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  const current = currentTab(TABS, pathname);
  return (
    <>
      <PageHeader
        title="Your account"
        crumbs={[
          { label: "Home", to: "/" },
          { label: "Account", to: "/account" },
          { label: current.label },
        ]}
      />
      <SectionTabs label="Account sections" tabs={TABS} />
      <Outlet />
    </>
  );
}
