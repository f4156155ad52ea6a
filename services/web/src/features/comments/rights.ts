/**
 * Who may do what in a thread, as the issues service decides it (the console only hides what
 * it would refuse): comment — an administrator, an owner or maintainer whose role writes
 * issues, an automation account (role agent) on what is assigned to it, never a read-only
 * account; edit — the author; delete — the author, the project's owners and maintainers, and
 * administrators.
 */
import type { ProjectRead, UserOut } from "@/client/types.gen";
import { may, projectPermissions } from "@/lib/permissions";

export interface CommentRights {
  canComment: boolean;
  /** Delete anyone's comment (owners, maintainers, administrators). */
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
  // The same rule as changing the item: any (issues.write) or the one assigned to the caller.
  const canComment = permissions.canUpdate(item);
  const canModerate = permissions.canWriteIssues;
  if (canComment) return { canComment, canModerate, reason: null };
  let reason: string;
  if (!may(me, "issues.write") && !may(me, "issues.update_assigned")) {
    reason = "Your account is read-only: you can read the comments but not add any.";
  } else if (!["admin", "owner", "maintainer"].includes(permissions.relation)) {
    reason = "Only the project's owners and maintainers can comment.";
  } else {
    reason = "An automation account comments only on what is assigned to it.";
  }
  return { canComment, canModerate, reason };
}
