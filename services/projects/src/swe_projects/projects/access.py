"""Who may do what to a project. Visibility itself is enforced in the repository's queries."""

from __future__ import annotations

from typing import Literal

from swe_common.errors import Forbidden
from swe_common.security import Caller
from swe_projects.models import Project

Relation = Literal["admin", "owner", "maintainer", "viewer", "none"]
CREATOR_ROLES = frozenset({"admin", "user"})


def relation(project: Project, caller: Caller) -> Relation:
    if caller.is_admin:
        return "admin"
    if caller.user_id is None:
        return "none"
    if project.owner_id == caller.user_id:
        return "owner"
    for member in project.members:
        if member.user_id == caller.user_id:
            return "maintainer" if member.role == "maintainer" else "viewer"
    return "none"


def require_writer(caller: Caller) -> None:
    if caller.read_only:
        raise Forbidden(
            "This token is read-only for projects (readonly role, or an API key without "
            "the projects:write scope); it cannot change them"
        )


def require_creator(caller: Caller) -> None:
    require_writer(caller)
    if caller.user_id is None or not caller.roles & CREATOR_ROLES:
        raise Forbidden("Only users and admins can create projects")


def require_maintainer(project: Project, caller: Caller) -> None:
    require_writer(caller)
    if relation(project, caller) not in ("admin", "owner", "maintainer"):
        raise Forbidden("Only the project's owner and maintainers can change it")


def require_owner(project: Project, caller: Caller) -> None:
    require_writer(caller)
    if relation(project, caller) not in ("admin", "owner"):
        raise Forbidden("Only the project's owner can do this")
