/**
 * The issues list's filters, sort and page, kept in the URL (`?status=&priority=&label=&
 * assignee=&q=&sort=&page=`): a reload, the back button or a shared link shows the same list.
 * A value the URL may carry but the API would refuse is dropped, never sent.
 */
import { z } from "zod";
import type { IssueStatus, ListIssuesApiV1IssuesGetData, Priority } from "@/client/types.gen";

export const STATUSES = [
  "open",
  "in_progress",
  "in_review",
  "resolved",
  "closed",
] as const satisfies readonly IssueStatus[];
export const PRIORITIES = [
  "critical",
  "high",
  "medium",
  "low",
] as const satisfies readonly Priority[];

export const STATUS_LABEL: Record<IssueStatus, string> = {
  open: "open",
  in_progress: "in progress",
  in_review: "in review",
  resolved: "resolved",
  closed: "closed",
};

/** Sort orders the API allows (issues' `SORTABLE`); the first is the server's default. */
export const SORTS = {
  "-created_at": "Newest first",
  created_at: "Oldest first",
  "-updated_at": "Recently updated",
  "-priority": "Priority, highest first",
  priority: "Priority, lowest first",
  title: "Title, A to Z",
} as const;
export type IssueSort = keyof typeof SORTS;
export const DEFAULT_SORT: IssueSort = "-created_at";

export const PAGE_SIZE = 50;
/** The API skips at most 1,000,000 items: pages past that would be refused. */
const MAX_PAGE = Math.floor(1_000_000 / PAGE_SIZE) + 1;

// The router parses each value as JSON when it can (`?q=123` arrives as the number 123), so
// free text accepts numbers too and turns them back into the text that was typed.
const text = (max: number) =>
  z
    .union([z.string(), z.number()])
    .transform((value) => String(value).trim())
    .pipe(z.string().min(1).max(max));

const fields = {
  status: z.enum(STATUSES),
  priority: z.enum(PRIORITIES),
  label: text(50),
  assignee: z.string().uuid(),
  q: text(200),
  sort: z.enum(Object.keys(SORTS) as [IssueSort, ...IssueSort[]]),
  page: z.coerce.number().int().min(2).max(MAX_PAGE),
};

export interface IssueSearch {
  status?: IssueStatus;
  priority?: Priority;
  label?: string;
  /** An agent's id (`assigned_agent_id`). */
  assignee?: string;
  q?: string;
  sort?: IssueSort;
  /** Absent on the first page. */
  page?: number;
}

/** The route's `validateSearch`: keeps each valid value, drops the rest (and the defaults). */
export function parseIssueSearch(raw: Record<string, unknown>): IssueSearch {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(fields)) {
    if (raw[name] === undefined) continue; // (a failed parse builds an error: not for nothing)
    const parsed = schema.safeParse(raw[name]);
    if (parsed.success) out[name] = parsed.data;
  }
  if (out.sort === DEFAULT_SORT) delete out.sort;
  return out as IssueSearch;
}

/** The search with one filter changed: back to the first page; empty values leave the URL. */
export function withFilter<K extends keyof IssueSearch>(
  search: IssueSearch,
  name: K,
  value: IssueSearch[K] | "" | undefined,
): IssueSearch {
  const next: IssueSearch = { ...search, [name]: value === "" ? undefined : value };
  if (name !== "page") delete next.page;
  for (const key of Object.keys(next) as (keyof IssueSearch)[]) {
    if (next[key] === undefined) delete next[key];
  }
  return parseIssueSearch(next as Record<string, unknown>);
}

export function hasFilters(search: IssueSearch): boolean {
  return Boolean(search.status || search.priority || search.label || search.assignee || search.q);
}

type ListQuery = NonNullable<ListIssuesApiV1IssuesGetData["query"]>;

/** The list call's query for one project and the URL's search. */
export function listQuery(projectId: string, search: IssueSearch): ListQuery {
  const page = search.page ?? 1;
  return {
    project_id: projectId,
    status: search.status,
    priority: search.priority,
    labels: search.label ? [search.label] : undefined,
    assigned_agent_id: search.assignee,
    q: search.q,
    sort: search.sort ?? DEFAULT_SORT,
    limit: PAGE_SIZE,
    offset: (page - 1) * PAGE_SIZE,
  };
}
