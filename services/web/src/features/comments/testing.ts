/** A thread's API for whole-app tests: the contract of `/api/v1/{issues,prs}/{id}/comments`
 * (oldest first, `limit`/`offset` pages, 201 on a post, author-only edits, 204 on a delete),
 * kept in memory so that a test sees what it changed. */
import type { CommentOut } from "@/client/types.gen";
import { PROJECT_ID } from "@/test/data";
import { jsonResponse, problemResponse } from "@/test/render";

export function comment(overrides: Partial<CommentOut> = {}): CommentOut {
  return {
    id: "c0000000-0000-4000-8000-000000000001",
    project_id: PROJECT_ID,
    issue_id: null,
    pull_request_id: null,
    author_id: "",
    author_name: "",
    body: "",
    created_at: "2026-01-03T10:00:00Z",
    updated_at: "2026-01-03T10:00:00Z",
    edited: false,
    ...overrides,
  };
}

export function commentsServer(
  prefix: string,
  initial: CommentOut[],
  caller: { id: string; name: string },
) {
  const state = { comments: [...initial], posted: 0 };
  const respond = (method: string, path: string, body: unknown, url: URL) => {
    if (path === prefix && method === "GET") {
      const limit = Number(url.searchParams.get("limit") ?? 50);
      const offset = Number(url.searchParams.get("offset") ?? 0);
      return jsonResponse({
        items: state.comments.slice(offset, offset + limit),
        total: state.comments.length,
        limit,
        offset,
      });
    }
    if (path === prefix && method === "POST") {
      const text = (body as { body: string }).body;
      state.posted += 1;
      const made = comment({
        id: `c0000000-0000-4000-9000-${String(state.posted).padStart(12, "0")}`,
        author_id: caller.id,
        author_name: caller.name,
        body: text,
        created_at: new Date().toISOString(),
        updated_at: new Date().toISOString(),
      });
      state.comments.push(made);
      return jsonResponse(made, 201);
    }
    if (!path.startsWith(`${prefix}/`)) return undefined;
    const index = state.comments.findIndex((c) => path === `${prefix}/${c.id}`);
    const found = state.comments[index];
    if (!found) return problemResponse(404, { detail: "no such comment" });
    if (method === "PATCH") {
      if (found.author_id !== caller.id) {
        return problemResponse(403, { detail: "only its author edits a comment" });
      }
      const changed = {
        ...found,
        body: (body as { body: string }).body,
        edited: true,
        updated_at: new Date().toISOString(),
      };
      state.comments[index] = changed;
      return jsonResponse(changed);
    }
    if (method === "DELETE") {
      state.comments.splice(index, 1);
      return new Response(null, { status: 204 });
    }
    return undefined;
  };
  return { state, respond };
}
