/** The Pull requests tab's filters and page, kept in the URL (?state=&review=&page=). */
import type { PullRequestState, ReviewStatus } from "@/client/types.gen";
import { PULL_STATES, REVIEW_STATUSES } from "@/features/pulls/labels";

export interface PullsSearch {
  state?: PullRequestState;
  review?: ReviewStatus;
  page?: number;
}

export function validatePullsSearch(search: Record<string, unknown>): PullsSearch {
  const out: PullsSearch = {};
  const state = PULL_STATES.find((s) => s.value === search.state);
  if (state) out.state = state.value;
  const review = REVIEW_STATUSES.find((s) => s.value === search.review);
  if (review) out.review = review.value;
  const page = Number(search.page);
  if (Number.isInteger(page) && page > 1) out.page = page;
  return out;
}
