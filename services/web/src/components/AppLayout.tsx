import { AppShell, Burger, CopyButton, Group, Menu, Text, UnstyledButton } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useQueryClient } from "@tanstack/react-query";
import { Outlet, useNavigate, useRouterState } from "@tanstack/react-router";
import { useMe } from "@/api/auth";
import { ConnectionBanner } from "@/components/ConnectionBanner";
import { ButtonLink, NavLinkLink } from "@/components/links";
import { NAV_ITEMS } from "@/components/nav";
import { NotificationsBell } from "@/features/notifications/NotificationsBell";
import { NotificationsProvider } from "@/features/notifications/NotificationsProvider";
import { signOut } from "@/lib/auth";
import { may } from "@/lib/permissions";

function UserMenu() {
  const me = useMe();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const name = me.data?.username ?? "Account";
  const onSignOut = async () => {
    await signOut();
    queryClient.clear();
    await navigate({ to: "/sign-in" });
  };
  return (
    <Menu position="bottom-end" withinPortal>
      <Menu.Target>
        <UnstyledButton aria-label={`Account menu for ${name}`} className="swe-user-button">
          <Text size="sm" fw={600}>
            {name}
          </Text>
        </UnstyledButton>
      </Menu.Target>
      <Menu.Dropdown>
        {me.data && (
          <>
            <Menu.Label>
              {me.data.full_name || me.data.username} · {me.data.email}
            </Menu.Label>
            <CopyButton value={me.data.id}>
              {({ copied, copy }) => (
                <Menu.Item onClick={copy} closeMenuOnClick={false}>
                  {copied ? "User id copied" : "Copy my user id (to be added to projects)"}
                </Menu.Item>
              )}
            </CopyButton>
            <Menu.Divider />
          </>
        )}
        <Menu.Item onClick={() => navigate({ to: "/account" })}>Your account</Menu.Item>
        <Menu.Item onClick={onSignOut}>Sign out</Menu.Item>
      </Menu.Dropdown>
    </Menu>
  );
}

/** The signed-in shell: header (brand, user menu), navigation, and the page in <main>. */
export function AppLayout() {
  const [opened, { toggle, close }] = useDisclosure();
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  const me = useMe();
  const items = NAV_ITEMS.filter(
    (item) => item.enabled && (!item.permission || may(me.data, item.permission)),
  );
  const shell = (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="md"
    >
      <a href="#main" className="swe-skip-link">
        Skip to content
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between">
          <Group gap="sm">
            <Burger
              opened={opened}
              onClick={toggle}
              hiddenFrom="sm"
              size="sm"
              aria-label="Toggle navigation"
            />
            <ButtonLink to="/" variant="subtle" color="dark" px={4}>
              SWE platform
            </ButtonLink>
          </Group>
          <Group gap="xs">
            {me.data && <NotificationsBell />}
            <UserMenu />
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main navigation">
        {items.map((item) => {
          const active = item.to === "/" ? pathname === "/" : pathname.startsWith(item.to);
          return (
            <NavLinkLink
              key={item.to}
              to={item.to}
              label={item.label}
              active={active}
              aria-current={active ? "page" : undefined}
              onClick={close}
            />
          );
        })}
      </AppShell.Navbar>
      <AppShell.Main id="main" tabIndex={-1} className="swe-main">
        <ConnectionBanner />
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
  // One run notification feed for the signed-in user (the bell, toasts, live run pages); the
  // provider is always there, so the page is not mounted again once the user is known.
  return <NotificationsProvider userId={me.data?.id ?? null}>{shell}</NotificationsProvider>;
}
