"""The permission model: what each platform role may do, in ONE table every service checks.

A caller's **role** (``admin``, ``user``, ``agent``, ``readonly``; auth sets them, tokens carry
them in ``roles``) says *what* it may ever do: :data:`ROLE_PERMISSIONS`. Its **relation** to a
project (owner, maintainer, viewer, or none; the projects service keeps the members) says
*where*: reading needs any relation (else the project and what it holds are hidden: 404),
changing anything in a project needs a writer relation (:data:`WRITER_RELATIONS`, owner or
maintainer), and the project's own administration (deleting it, its membership) the owner
(:data:`OWNER_RELATIONS`). A check holds both: the permission from this table (403 when the
role lacks it) and the relation the service reads from its projects read model.

The ``agent`` role is the role of automation accounts: it reads the projects it is a member
of, starts and reads runs, requests and reads reviews, and changes and comments on the issues
and pull requests **assigned** to it (their ``assignee_id`` is its account id), in the
projects where it is a maintainer; nothing of account or user administration, no project
creation, deletion or membership, no agent definitions, no analytics.

Comments on issues and pull requests have permissions of their own (``issues.comment``,
``issues.comment_assigned``) rather than riding on ``issues.write``: saying something about a
piece of work is a smaller thing than changing or deleting it, and a role may be given the one
without the other. Reading comments is ``issues.read``; an author edits and deletes its own
comment under the rule that let it write one, and removing someone else's is moderation,
``issues.write`` (the project's owner and maintainers, admins).

An API-key token additionally holds only what its scopes open (``swe_common.security``'s
``ScopeGuard``, per route family); a key without any ``:write`` scope is read-only here too.

This module imports no web framework: domain code calls :func:`require` / :func:`granted`;
routes use ``swe_common.security.require_permission``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cache
from typing import Protocol

from swe_common.errors import Forbidden


class Permission(StrEnum):
    """One thing a role may do. The value is stable: it appears in 403 problems
    (``permission``), the README's table and the web console's copy of it."""

    # -- accounts (auth) --
    ACCOUNT_SELF = "account.self"  # own profile, password, sessions, TOTP, own API keys
    USERS_ADMIN = "users.admin"  # list, lock, disable users, set roles, the audit trail
    API_KEYS_ADMIN = "api_keys.admin"  # see and revoke anyone's API keys
    # -- projects --
    PROJECTS_EVERY = "projects.every"  # see and act in every project as its owner would
    PROJECTS_READ = "projects.read"
    PROJECTS_CREATE = "projects.create"
    PROJECTS_UPDATE = "projects.update"  # change, rotate the webhook secret, delete (owner)
    PROJECTS_MEMBERS = "projects.members"  # add, re-role, remove members (also leaving)
    # -- issues and pull requests (the issues service) --
    ISSUES_READ = "issues.read"  # issues, pull requests, their stats
    ISSUES_WRITE = "issues.write"  # create, change, assign, resolve, sync, delete any
    ISSUES_UPDATE_ASSIGNED = "issues.update_assigned"  # change those assigned to the caller
    ISSUES_COMMENT = "issues.comment"  # comment on any issue or pull request
    ISSUES_COMMENT_ASSIGNED = "issues.comment_assigned"  # comment on those assigned to the caller
    REVIEWS_READ = "reviews.read"
    REVIEWS_REQUEST = "reviews.request"
    # -- agents and runs --
    AGENTS_READ = "agents.read"  # agent definitions
    AGENTS_WRITE = "agents.write"  # create, change, delete agent definitions
    RUNS_READ = "runs.read"  # runs, their logs, reports, diffs, live streams
    RUNS_START = "runs.start"  # start and cancel runs
    # -- analytics --
    ANALYTICS_READ = "analytics.read"
    ANALYTICS_WRITE = "analytics.write"  # record custom events
    # -- operations --
    GATEWAY_ADMIN = "gateway.admin"  # the gateway's registry and breakers
    HEALTH_DETAILED = "health.detailed"  # every service's detailed health (operators)


P = Permission

# What a read-only credential keeps (the readonly role; an API key without a write scope).
READ_PERMISSIONS: frozenset[Permission] = frozenset(
    {
        P.PROJECTS_READ,
        P.ISSUES_READ,
        P.REVIEWS_READ,
        P.AGENTS_READ,
        P.RUNS_READ,
        P.ANALYTICS_READ,
    }
)

# THE table. A role not named here has no permission at all.
ROLE_PERMISSIONS: Mapping[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "user": frozenset(
        {
            P.ACCOUNT_SELF,
            P.PROJECTS_READ,
            P.PROJECTS_CREATE,
            P.PROJECTS_UPDATE,
            P.PROJECTS_MEMBERS,
            P.ISSUES_READ,
            P.ISSUES_WRITE,
            P.ISSUES_UPDATE_ASSIGNED,
            P.ISSUES_COMMENT,
            P.ISSUES_COMMENT_ASSIGNED,
            P.REVIEWS_READ,
            P.REVIEWS_REQUEST,
            P.AGENTS_READ,
            P.AGENTS_WRITE,
            P.RUNS_READ,
            P.RUNS_START,
            P.ANALYTICS_READ,
            P.ANALYTICS_WRITE,
        }
    ),
    "agent": frozenset(
        {
            P.ACCOUNT_SELF,
            P.PROJECTS_READ,
            P.ISSUES_READ,
            P.ISSUES_UPDATE_ASSIGNED,
            P.ISSUES_COMMENT_ASSIGNED,
            P.REVIEWS_READ,
            P.REVIEWS_REQUEST,
            P.AGENTS_READ,
            P.RUNS_READ,
            P.RUNS_START,
        }
    ),
    "readonly": frozenset({P.ACCOUNT_SELF, *READ_PERMISSIONS}),
}

ROLES: tuple[str, ...] = tuple(ROLE_PERMISSIONS)

# Relations to a project (``swe_common.projects_read_model.role_in``; "admin" stands for a
# caller holding ``projects.every``).
WRITER_RELATIONS = frozenset({"admin", "owner", "maintainer"})
OWNER_RELATIONS = frozenset({"admin", "owner"})


class HasRoles(Protocol):
    """What a check reads of a caller (``swe_common.security.Principal``)."""

    @property
    def roles(self) -> frozenset[str]: ...

    @property
    def scopes(self) -> frozenset[str]: ...

    @property
    def api_key_id(self) -> str | None: ...


@cache
def permissions_of(roles: frozenset[str]) -> frozenset[Permission]:
    """The union of the roles' permissions (unknown roles grant nothing)."""
    held: set[Permission] = set()
    for role in roles:
        held |= ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(held)


def read_only_key(principal: HasRoles) -> bool:
    """An API-key token without any ``:write`` (or ``:admin``) scope."""
    return principal.api_key_id is not None and not any(
        s.endswith((":write", ":admin")) for s in principal.scopes
    )


def permissions(principal: HasRoles) -> frozenset[Permission]:
    held = permissions_of(frozenset(principal.roles))
    return held & READ_PERMISSIONS if read_only_key(principal) else held


def granted(principal: HasRoles, permission: Permission) -> bool:
    return permission in permissions(principal)


def require(principal: HasRoles, permission: Permission, action: str | None = None) -> None:
    """Raise a 403 problem naming the permission (``permission``) when the caller lacks it."""
    if granted(principal, permission):
        return
    what = action or f"do this ({permission.value})"
    reader = permissions_of(frozenset(principal.roles)) <= READ_PERMISSIONS | {P.ACCOUNT_SELF}
    if read_only_key(principal) or reader:
        detail = (
            "Read-only credentials (the readonly role, or an API key without a write scope) "
            f"cannot {what}"
        )
    else:
        roles = ", ".join(sorted(principal.roles)) or "no role"
        detail = f"Your role ({roles}) cannot {what}"
    raise Forbidden(detail, permission=permission.value)


def roles_granting(permission: Permission) -> list[str]:
    """The roles holding ``permission`` (for documentation and messages)."""
    return [role for role, held in ROLE_PERMISSIONS.items() if permission in held]


def table_rows(roles: Iterable[str] = ROLES) -> list[tuple[str, list[bool]]]:
    """The table as rows (permission, held by each role): the README's table is this."""
    names = list(roles)
    return [
        (permission.value, [permission in ROLE_PERMISSIONS[role] for role in names])
        for permission in Permission
    ]
