/** What the caller may do in a project, mirroring the projects service's rules (access.py). */
import type { ProjectRead, UserOut } from "@/client/types.gen";

/** The platform's administrators (auth's `admin` role): the Administration pages are theirs. */
export function isAdmin(me: UserOut | undefined): boolean {
  return !!me?.roles.includes("admin");
}

export type ProjectRelation = "admin" | "owner" | "maintainer" | "viewer" | "none";

export function projectRelation(project: ProjectRead, me: UserOut | undefined): ProjectRelation {
  if (!me) return "none";
  if (me.roles.includes("admin")) return "admin";
  if (project.owner_id === me.id) return "owner";
  const member = project.members.find((m) => m.user_id === me.id);
  return member ? member.role : "none";
}

function writes(me: UserOut | undefined): boolean {
  // The readonly role can read every project it sees but change none.
  return !!me && !me.roles.includes("readonly");
}

export interface ProjectPermissions {
  relation: ProjectRelation;
  /** Rename, describe, rotate the webhook secret, set the GitHub token. */
  canEdit: boolean;
  /** Add, re-role and remove members; delete the project. */
  canManage: boolean;
  /** Create, edit, move, assign, resolve, sync and delete issues (issues' WRITER_ROLES). */
  canWriteIssues: boolean;
  /** Create, edit and delete agents; start and cancel runs (agents' require_write). */
  canWriteAgents: boolean;
}

export function projectPermissions(
  project: ProjectRead,
  me: UserOut | undefined,
): ProjectPermissions {
  const relation = projectRelation(project, me);
  const canWrite = writes(me);
  return {
    relation,
    canEdit: canWrite && ["admin", "owner", "maintainer"].includes(relation),
    canManage: canWrite && ["admin", "owner"].includes(relation),
    canWriteIssues: canWrite && ["admin", "owner", "maintainer"].includes(relation),
    canWriteAgents: canWrite && ["admin", "owner", "maintainer"].includes(relation),
  };
}
