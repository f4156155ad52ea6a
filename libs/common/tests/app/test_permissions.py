"""The permission model's table (swe_common.permissions): what each role may do, how an API
key narrows it, the 403 a refusal answers, and the README's copy of the table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from swe_common.errors import Forbidden
from swe_common.permissions import (
    READ_PERMISSIONS,
    ROLE_PERMISSIONS,
    ROLES,
    Permission,
    granted,
    require,
    table_rows,
)
from swe_common.security import Principal

ROOT = Path(__file__).resolve().parents[4]
ADMINISTRATION = {
    Permission.USERS_ADMIN,
    Permission.API_KEYS_ADMIN,
    Permission.PROJECTS_EVERY,
    Permission.PROJECTS_CREATE,
    Permission.PROJECTS_UPDATE,
    Permission.PROJECTS_MEMBERS,
    Permission.GATEWAY_ADMIN,
}


def principal(*roles: str, api_key: bool = False, scopes: str = "") -> Principal:
    return Principal(
        subject="7b0c8a52-3a6f-4d4e-9a57-5b0f8f2f0c11",
        roles=frozenset(roles),
        scopes=frozenset(scopes.split()),
        api_key_id="key-1" if api_key else None,
    )


def test_the_role_names_are_the_four_tokens_carry() -> None:
    # The gateway's per-role rate limits and auth's Role literal name exactly these.
    assert ROLES == ("admin", "user", "agent", "readonly")


def test_the_agent_role_has_the_automation_permissions_and_no_administration() -> None:
    agent = principal("agent")
    for permission in (
        Permission.PROJECTS_READ,
        Permission.RUNS_READ,
        Permission.RUNS_START,
        Permission.REVIEWS_READ,
        Permission.REVIEWS_REQUEST,
        Permission.ISSUES_READ,
        Permission.ISSUES_UPDATE_ASSIGNED,
        Permission.ISSUES_COMMENT_ASSIGNED,
    ):
        assert granted(agent, permission), permission
    for permission in (
        *ADMINISTRATION,
        Permission.ISSUES_WRITE,
        Permission.ISSUES_COMMENT,
        Permission.AGENTS_WRITE,
        Permission.ANALYTICS_READ,
    ):
        assert not granted(agent, permission), permission
    assert not agent.is_admin and not agent.is_readonly


def test_readonly_holds_reads_only_and_admin_holds_everything() -> None:
    assert ROLE_PERMISSIONS["readonly"] == READ_PERMISSIONS | {Permission.ACCOUNT_SELF}
    assert principal("readonly").is_readonly
    assert all(granted(principal("admin"), p) for p in Permission)
    assert principal("admin").is_admin


def test_a_principal_holds_the_union_of_its_roles_and_an_unknown_role_holds_nothing() -> None:
    both = principal("readonly", "agent")
    assert granted(both, Permission.RUNS_START) and granted(both, Permission.ANALYTICS_READ)
    assert not any(granted(principal("superuser"), p) for p in Permission)


def test_an_api_key_without_a_write_scope_is_read_only_whatever_the_role() -> None:
    key = principal("user", api_key=True, scopes="projects:read issues:read")
    assert key.is_readonly
    assert granted(key, Permission.ISSUES_READ)
    assert not granted(key, Permission.ISSUES_WRITE)
    writer = principal("user", api_key=True, scopes="issues:write")
    assert granted(writer, Permission.ISSUES_WRITE)
    # A key never widens its owner's role.
    assert not granted(
        principal("agent", api_key=True, scopes="issues:write"), Permission.ISSUES_WRITE
    )


def test_a_refusal_is_a_403_naming_the_permission() -> None:
    with pytest.raises(Forbidden) as refused:
        require(principal("agent"), Permission.PROJECTS_CREATE, "create projects")
    assert refused.value.status == 403
    assert refused.value.extra == {"permission": "projects.create"}
    assert "agent" in refused.value.detail and "create projects" in refused.value.detail
    with pytest.raises(Forbidden) as read_only:
        require(principal("readonly"), Permission.ISSUES_WRITE)
    assert "Read-only" in read_only.value.detail


def test_the_readme_table_is_the_code_table() -> None:
    text = (ROOT / "README.md").read_text("utf-8")
    block = text.split("<!-- roles-table:start -->")[1].split("<!-- roles-table:end -->")[0]
    lines = [line for line in block.strip().splitlines() if line.startswith("| `")]
    header = block.strip().splitlines()[0]
    assert re.findall(r"`(\w+)`", header) == list(ROLES)
    documented = []
    for line in lines:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        documented.append((cells[0].strip("`"), [cell == "✓" for cell in cells[2:]]))
    assert documented == table_rows(), "README's roles table is stale: regenerate it"


def test_the_web_consoles_copy_is_the_code_table() -> None:
    source = (ROOT / "services" / "web" / "src" / "lib" / "permissions.ts").read_text("utf-8")
    listed_all = source.split("export const PERMISSIONS = [")[1].split("] as const")[0]
    every = re.findall(r'"([a-z_.]+)"', listed_all)
    assert every == [p.value for p in Permission], "the console's PERMISSIONS list is stale"
    block = source.split("export const ROLE_PERMISSIONS")[1].split("\n};")[0]
    copied = {
        # A role may be given the whole list by name (the admin role).
        role: set(every) if listed == "PERMISSIONS" else set(re.findall(r'"([a-z_.]+)"', listed))
        for role, listed in re.findall(r"\n  (\w+): (PERMISSIONS|\[.*?\])", block, flags=re.S)
    }
    assert copied == {role: {p.value for p in held} for role, held in ROLE_PERMISSIONS.items()}
