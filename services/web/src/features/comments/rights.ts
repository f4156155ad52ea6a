/**
 * Who may do what in a thread, as the issues service decides it (the console only hides what
 * it would refuse; `projectPermissions` in `lib/permissions.ts`): comment — a writer relation
 * with `issues.comment`, or `issues.comment_assigned` on what is assigned to the caller (the
 * agent role); an author edits and deletes their own under that same rule; deleting someone
 * else's is moderation (`issues.write`: owners, maintainers, administrators).
 */
import type { ProjectRead, UserOut } from "@/client/types.gen";
import { may, projectPermissions } from "@/lib/permissions";

export interface CommentRights {
  canComment: boolean;
  /** Delete anyone's comment. */
  canModerate: boolean;
  /** Why the form is not shown, for those who may not comment. */
  reason: string | null;
}

export function commentRights(
  project: ProjectRead,
  me: UserOut | undefined,
  item: { assignee_id?: string | null },
): CommentRights {
  const permissions = projectPermissions(project, me);
  const canComment = permissions.canComment(item);
  const canModerate = permissions.canWriteIssues;
  if (canComment) return { canComment, canModerate, reason: null };
  let reason: string;
  if (!may(me, "issues.comment") && !may(me, "issues.comment_assigned")) {
    reason = "Your account is read-only: you can read the comments but not add any.";
  } else if (!["admin", "owner", "maintainer"].includes(permissions.relation)) {
    reason = "Only the project's owners and maintainers can comment.";
  } else {
    reason = "An automation account comments only on what is assigned to it.";
  }
  return { canComment, canModerate, reason };
}
