import { Outlet, useRouterState } from "@tanstack/react-router";
import { AnchorLink } from "@/components/links";
import { PageHeader } from "@/components/PageHeader";

const TABS = [
  { label: "Profile", to: "/account" },
  { label: "Password and two-factor", to: "/account/security" },
  { label: "Sessions", to: "/account/sessions" },
  { label: "API keys", to: "/account/api-keys" },
] as const;

/** The signed-in user's own settings, reached from the account menu. */
export function AccountLayout() {
  const pathname = useRouterState({ select: (s) => s.location.pathname }).replace(/\/+$/, "");
  const current = TABS.find((tab) => tab.to === pathname) ?? TABS[0];
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
      <nav aria-label="Account sections" className="swe-tabs">
        {TABS.map((tab) => (
          <AnchorLink
            key={tab.to}
            to={tab.to}
            className="swe-tab"
            data-active={tab === current || undefined}
            aria-current={tab === current ? "page" : undefined}
          >
            {tab.label}
          </AnchorLink>
        ))}
      </nav>
      <Outlet />
    </>
  );
}
