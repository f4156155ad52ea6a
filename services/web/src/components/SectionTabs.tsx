import { useRouterState } from "@tanstack/react-router";
import { AnchorLink } from "@/components/links";

export interface SectionTab {
  label: string;
  /** A path of the app, without parameters. */
  to: string;
}

/** The tab of `tabs` the current path is in (the longest matching prefix; the first by default). */
export function currentTab<T extends SectionTab>(tabs: readonly T[], pathname: string): T {
  const path = pathname.replace(/\/+$/, "") || "/";
  const matching = tabs.filter((tab) => path === tab.to || path.startsWith(`${tab.to}/`));
  const longest = matching.sort((a, b) => b.to.length - a.to.length)[0];
  return longest ?? (tabs[0] as T);
}

/** A page's sections as links that look like tabs (real links: open in a new tab works). */
export function SectionTabs({ label, tabs }: { label: string; tabs: readonly SectionTab[] }) {
  const pathname = useRouterState({ select: (s) => s.location.pathname });
  const current = currentTab(tabs, pathname);
  return (
    <nav aria-label={label} className="swe-tabs">
      {tabs.map((tab) => (
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
  );
}
