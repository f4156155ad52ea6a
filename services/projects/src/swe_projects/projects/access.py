"""Who may do what to a project: the role's permission (``swe_common.permissions``' table)
and the caller's relation to the project. Visibility itself is enforced in the repository's
queries (a project the caller may not see is a 404)."""

from __future__ import annotations

from typing import Literal

from swe_common.errors import Forbidden
from swe_common.permissions import OWNER_RELATIONS, WRITER_RELATIONS, Permission, require
from swe_common.security import Caller
from swe_projects.models import Project

Relation = Literal["admin", "owner", "maintainer", "viewer", "none"]


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


def require_permission(caller: Caller, permission: Permission, action: str) -> None:
    """The role's part of a check, made before the project is loaded (a 403 for any id)."""
    require(caller.principal, permission, action)


def require_creator(caller: Caller) -> None:
    require(caller.principal, Permission.PROJECTS_CREATE, "create projects")
    if caller.user_id is None:
        raise Forbidden("Only a user's token can create projects")


def require_maintainer(project: Project, caller: Caller) -> None:
    if relation(project, caller) not in WRITER_RELATIONS:
        raise Forbidden("Only the project's owner and maintainers can change it")


def require_owner(project: Project, caller: Caller) -> None:
    if relation(project, caller) not in OWNER_RELATIONS:
        raise Forbidden("Only the project's owner can do this")
