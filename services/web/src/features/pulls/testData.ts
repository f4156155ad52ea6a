/** Answers of the services for the pull request pages' tests (shapes as the API sends them). */
// The session, the accounts and the project are every page's: src/test/data.ts.
export { me, OWNER, PROJECT, PROJECT_ID, TOKENS, VIEWER } from "@/test/data";

import { PROJECT_ID } from "@/test/data";

export const PR_ID = "44444444-4444-4444-4444-444444444444";

export const PULL = {
  id: PR_ID,
  project_id: PROJECT_ID,
  number: 7,
  title: "Add spawn()",
  author: "carol",
  state: "open",
  base_ref: "trunk",
  head_ref: "feature/spawn",
  base_sha: null,
  head_sha: "a".repeat(40),
  review_status: "changes_requested",
  url: null,
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
};
