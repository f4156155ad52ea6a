/**
 * What the caller may do, mirroring the platform's permission model: the role table
 * (`swe_common.permissions.ROLE_PERMISSIONS`, shown in the README) and the project relation
 * (owner, maintainer, viewer). The services decide; the console only hides what they would
 * refuse. A test of swe_common (`test_permissions.py`) keeps this copy equal to the table.
 */
import type { ProjectRead, UserOut } from "@/client/types.gen";

/** Every permission, in the table's order (`swe_common.permissions.Permission`). */
export const PERMISSIONS = [
  "account.self",
  "users.admin",
  "api_keys.admin",
  "projects.every",
  "projects.read",
  "projects.create",
  "projects.update",
  "projects.members",
  "issues.read",
  "issues.write",
  "issues.update_assigned",
  "issues.comment",
  "issues.comment_assigned",
  "reviews.read",
  "reviews.request",
  "agents.read",
  "agents.write",
  "runs.read",
  "runs.start",
  "analytics.read",
  "analytics.write",
  "gateway.admin",
  "health.detailed",
] as const;

export type Permission = (typeof PERMISSIONS)[number];

export const ROLE_PERMISSIONS: Record<string, readonly Permission[]> = {
  // The admin role holds every permission.
  admin: PERMISSIONS,
  user: [
    "account.self",
    "projects.read",
    "projects.create",
    "projects.update",
    "projects.members",
    "issues.read",
    "issues.write",
    "issues.update_assigned",
    "issues.comment",
    "issues.comment_assigned",
    "reviews.read",
    "reviews.request",
    "agents.read",
    "agents.write",
    "runs.read",
    "runs.start",
    "analytics.read",
    "analytics.write",
  ],
  // Automation accounts: runs, reviews, and the issues and pull requests assigned to them
  // (changing them and commenting on them).
  agent: [
    "account.self",
    "projects.read",
    "issues.read",
    "issues.update_assigned",
    "issues.comment_assigned",
    "reviews.read",
    "reviews.request",
    "agents.read",
    "runs.read",
    "runs.start",
  ],
  readonly: [
    "account.self",
    "projects.read",
    "issues.read",
    "reviews.read",
    "agents.read",
    "runs.read",
    "analytics.read",
  ],
};

/** Whether any of the caller's roles grants `permission`. */
export function may(me: UserOut | undefined, permission: Permission): boolean {
  return !!me?.roles.some((role) => ROLE_PERMISSIONS[role]?.includes(permission));
}

/** The platform's administrators: the Administration pages are theirs. */
export function isAdmin(me: UserOut | undefined): boolean {
  return may(me, "users.admin");
}

export type ProjectRelation = "admin" | "owner" | "maintainer" | "viewer" | "none";

export function projectRelation(project: ProjectRead, me: UserOut | undefined): ProjectRelation {
  if (!me) return "none";
  if (may(me, "projects.every")) return "admin";
  if (project.owner_id === me.id) return "owner";
  const member = project.members.find((m) => m.user_id === me.id);
  return member ? member.role : "none";
}

const WRITERS: ProjectRelation[] = ["admin", "owner", "maintainer"];
const OWNERS: ProjectRelation[] = ["admin", "owner"];

export interface ProjectPermissions {
  relation: ProjectRelation;
  /** Rename, describe, rotate the webhook secret, set the GitHub token. */
  canEdit: boolean;
  /** Add, re-role and remove members; delete the project. */
  canManage: boolean;
  /** Create, edit, assign, resolve, sync and delete any issue or pull request. */
  canWriteIssues: boolean;
  /** Create, edit and delete agent definitions. */
  canWriteAgents: boolean;
  /** Start and cancel runs. */
  canRunAgents: boolean;
  /** Ask for a review of a pull request. */
  canRequestReviews: boolean;
  /** Change this issue or pull request: any (canWriteIssues), or one assigned to the caller. */
  canUpdate: (item: { assignee_id?: string | null }) => boolean;
  /** Comment on this issue or pull request (`issues.comment`, or `issues.comment_assigned` on
   * one assigned to the caller), and edit or delete one's own comments there. Deleting
   * someone else's is moderation: `canWriteIssues`. */
  canComment: (item: { assignee_id?: string | null }) => boolean;
}

export function projectPermissions(
  project: ProjectRead,
  me: UserOut | undefined,
): ProjectPermissions {
  const relation = projectRelation(project, me);
  const writer = WRITERS.includes(relation);
  const canWriteIssues = writer && may(me, "issues.write");
  const updatesAssigned = writer && may(me, "issues.update_assigned");
  const commentsAny = writer && may(me, "issues.comment");
  const commentsAssigned = writer && may(me, "issues.comment_assigned");
  const assignedToMe = (item: { assignee_id?: string | null }) =>
    !!me && !!item.assignee_id && item.assignee_id === me.id;
  return {
    relation,
    canEdit: writer && may(me, "projects.update"),
    canManage: OWNERS.includes(relation) && may(me, "projects.members"),
    canWriteIssues,
    canWriteAgents: writer && may(me, "agents.write"),
    canRunAgents: writer && may(me, "runs.start"),
    canRequestReviews: writer && may(me, "reviews.request"),
    canUpdate: (item) => canWriteIssues || (updatesAssigned && assignedToMe(item)),
    canComment: (item) => commentsAny || (commentsAssigned && assignedToMe(item)),
  };
}
