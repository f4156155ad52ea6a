/** A project's Runs tab in the URL: ?status=&agent=&page=; a value the API would refuse is
 * dropped, never sent. */
import { type ProjectRunsSearch, RUN_STATUSES, type RunStatus } from "@/api/agents";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function validateProjectRunsSearch(search: Record<string, unknown>): ProjectRunsSearch {
  const out: ProjectRunsSearch = {};
  if (RUN_STATUSES.includes(search.status as RunStatus)) out.status = search.status as RunStatus;
  if (typeof search.agent === "string" && UUID.test(search.agent)) out.agent = search.agent;
  const page = Number(search.page);
  if (Number.isInteger(page) && page > 1) out.page = page;
  return out;
}
