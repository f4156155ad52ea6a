import { Skeleton } from "@mantine/core";
import { Outlet, useRouterState } from "@tanstack/react-router";
import { useMe } from "@/api/auth";
import { ErrorView } from "@/components/ErrorView";
import { NotFoundView } from "@/components/NotFoundView";
import { PageHeader } from "@/components/PageHeader";
import { currentTab, SectionTabs } from "@/components/SectionTabs";
import { isAdmin } from "@/lib/permissions";

const TABS = [
  { label: "Users", to: "/admin/users" },
  { label: "Audit log", to: "/admin/audit" },
  { label: "Gateway", to: "/admin/gateway" },
] as const;

/**
 * Administration: for the admin role only. Anyone else gets the same "not found" as for a page
 * that does not exist (the APIs refuse them anyway); the navigation never shows them the way.
 */
export function AdminLayout() {
  const me = useMe();
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  if (me.isPending) return <Skeleton h={160} />;
  if (me.isError) return <ErrorView error={me.error} onRetry={() => me.refetch()} />;
  if (!isAdmin(me.data)) return <NotFoundView />;
  const current = currentTab(TABS, pathname);
  return (
    <>
      <PageHeader
        title="Administration"
        crumbs={[
          { label: "Home", to: "/" },
          { label: "Administration", to: "/admin/users" },
          { label: current.label },
        ]}
      />
      <SectionTabs label="Administration sections" tabs={TABS} />
      <Outlet />
    </>
  );
}
