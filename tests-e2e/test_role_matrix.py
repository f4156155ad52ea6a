"""The permission model, role by role, through the gateway against the real services.

Every role (admin, user, agent, readonly) acts as a **maintainer** of the same project, so the
role is the only difference between them; each route family is tried once per role. Allowed
answers 2xx; a role that lacks the permission answers 403 problem+json naming it
(``permission``). Where a service hides that something exists (another user's API key, a
project the caller has no relation to), the refusal is a 404, as everywhere else.

The table these cases check is ``swe_common.permissions.ROLE_PERMISSIONS``; the README shows
it. Comments on issues and pull requests are a family of their own (``issues.comment``,
``issues.comment_assigned``): the agent role comments only on what is assigned to it, nobody
edits another's comment, and removing another's is moderation (``issues.write``).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from e2e_support import (
    PlantedRepo,
    Stack,
    User,
    create_admin,
    describe,
    expect,
    gateway_client,
    log_in,
    new_user,
)

from swe_common.testing import eventually

ROLES = ("admin", "user", "agent", "readonly")
ALL = frozenset(ROLES)
PROBLEM = "application/problem+json"


@dataclass
class World:
    owner: User
    actors: dict[str, User]
    bystander: User
    project: str  # every actor is a maintainer here
    review_project: str  # the same members; review runs kept apart from started runs
    own_projects: dict[str, str]  # a project the actor owns (roles that may create one)
    hidden_project: str  # nobody but the owner
    assigned_issue: dict[str, str]  # an issue assigned to each actor
    other_issue: str  # assigned to the owner
    hidden_issue: str
    assigned_pr: dict[str, str]
    other_pr: str
    review_pr: dict[str, str]
    agent: str  # an agent definition of the project
    run: str  # one of its runs (the owner's)
    reassign_issue: dict[str, str]  # another issue assigned to each actor, for reassigning
    repo_url: str


async def _set_role(admin: User, stack: Stack, user: User, role: str) -> User:
    """The admin gives ``user`` the role; roles travel in tokens, so the user signs in again."""
    expect(
        await admin.http.put(f"/api/v1/auth/admin/users/{user.id}/roles", json={"roles": [role]}),
        200,
    )
    await user.http.aclose()
    async with gateway_client(stack) as anonymous:
        tokens = await log_in(anonymous, user.username)
    http = gateway_client(stack, headers={"Authorization": f"Bearer {tokens['access_token']}"})
    return User(user.id, user.username, user.email, tokens["access_token"], "", http)


async def _project(owner: User, repo: PlantedRepo, name: str, members: list[User]) -> str:
    project = expect(
        await owner.http.post(
            "/api/v1/projects",
            json={"name": f"{name}-{uuid.uuid4().hex[:6]}", "repository_url": repo.url},
        ),
        201,
    )
    for member in members:
        expect(
            await owner.http.post(
                f"/api/v1/projects/{project['id']}/members",
                json={"user_id": member.id, "role": "maintainer"},
            ),
            201,
        )
    return str(project["id"])


async def _issue(owner: User, project: str, title: str, assignee: str | None) -> str:
    issue = expect(
        await owner.http.post("/api/v1/issues", json={"project_id": project, "title": title}), 201
    )
    if assignee is not None:
        changed = expect(
            await owner.http.patch(f"/api/v1/issues/{issue['id']}", json={"assignee_id": assignee}),
            200,
        )
        assert changed["assignee_id"] == assignee, changed
    return str(issue["id"])


async def _pr(
    owner: User, project: str, repo: PlantedRepo, number: int, assignee: str | None
) -> str:
    pr = expect(
        await owner.http.post(
            "/api/v1/prs",
            json={
                "project_id": project,
                "number": number,
                "title": f"change {number}",
                "base_ref": "main",
                "head_ref": repo.head_ref,
                "base_sha": repo.base_sha,
                "head_sha": repo.head_sha,
            },
        ),
        201,
    )
    if assignee is not None:
        changed = expect(
            await owner.http.patch(f"/api/v1/prs/{pr['id']}", json={"assignee_id": assignee}), 200
        )
        assert changed["assignee_id"] == assignee, changed
    return str(pr["id"])


@pytest.fixture(scope="module")
async def world(stack: Stack, repo: PlantedRepo) -> Any:
    async with gateway_client(stack) as anonymous:
        owner = await new_user(stack, anonymous, "owner")
        bystander = await new_user(stack, anonymous, "bystander")
        made = {role: await new_user(stack, anonymous, f"as-{role}") for role in ROLES}
        admin_name = create_admin(stack)
        tokens = await log_in(anonymous, admin_name)
    admin_http = gateway_client(
        stack, headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    me = expect(await admin_http.get("/api/v1/auth/me"), 200)
    admin = User(me["id"], admin_name, me["email"], tokens["access_token"], "", admin_http)
    actors: dict[str, User] = {"admin": admin}
    await made["admin"].http.aclose()
    for role in ("user", "agent", "readonly"):
        actors[role] = (
            made[role] if role == "user" else await _set_role(admin, stack, made[role], role)
        )
    for role, actor in actors.items():
        roles = expect(await actor.http.get("/api/v1/auth/me"), 200)["roles"]
        # An operator-made admin is also a user; every other actor holds its role alone.
        assert roles == [role] or (role == "admin" and "admin" in roles), (role, roles)

    members = list(actors.values())
    project = await _project(owner, repo, "matrix", members)
    review_project = await _project(owner, repo, "matrix-reviews", members)
    hidden_project = await _project(owner, repo, "matrix-hidden", [])
    own_projects = {
        role: await _project(actors[role], repo, f"own-{role}", []) for role in ("admin", "user")
    }
    assigned_issue = {
        role: await _issue(owner, project, f"for {role}", actor.id)
        for role, actor in actors.items()
    }
    reassign_issue = {
        role: await _issue(owner, project, f"also for {role}", actor.id)
        for role, actor in actors.items()
    }
    other_issue = await _issue(owner, project, "the owner's", owner.id)
    hidden_issue = await _issue(owner, hidden_project, "hidden", None)
    assigned_pr = {
        role: await _pr(owner, project, repo, 10 + index, actors[role].id)
        for index, role in enumerate(ROLES)
    }
    other_pr = await _pr(owner, project, repo, 20, owner.id)
    review_pr = {
        role: await _pr(owner, review_project, repo, 30 + index, None)
        for index, role in enumerate(ROLES)
    }
    agent = expect(
        await owner.http.post(
            "/api/v1/agents",
            json={"project_id": project, "name": "matrix-bot", "type": "code_analyzer"},
        ),
        201,
    )
    run = expect(await owner.http.post(f"/api/v1/agents/{agent['id']}/start", json={}), 202)

    # The services learn of the members from projects' events: every actor sees the project's
    # agent and its issues before any case runs (else a case would test the event's delay).
    async def everyone_sees() -> bool:
        for actor in actors.values():
            for path in (f"/api/v1/agents/{agent['id']}", f"/api/v1/issues/{other_issue}"):
                if (await actor.http.get(path)).status_code != 200:
                    return False
        return True

    await eventually(everyone_sees, timeout=30)
    expect(await owner.http.post(f"/api/v1/agents/runs/{run['id']}/cancel"), 202, 409)
    yield World(
        owner=owner,
        actors=actors,
        bystander=bystander,
        project=project,
        review_project=review_project,
        own_projects=own_projects,
        hidden_project=hidden_project,
        assigned_issue=assigned_issue,
        other_issue=other_issue,
        hidden_issue=hidden_issue,
        assigned_pr=assigned_pr,
        other_pr=other_pr,
        review_pr=review_pr,
        agent=str(agent["id"]),
        run=str(run["id"]),
        reassign_issue=reassign_issue,
        repo_url=repo.url,
    )
    for user in (owner, bystander, *actors.values()):
        await user.http.aclose()


Call = Callable[[World, str, httpx.AsyncClient], Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Case:
    family: str
    name: str
    allowed: frozenset[str]
    call: Call
    # What a refused role's 403 names (per role where they differ).
    permission: str | dict[str, str] | None = None
    hidden: bool = False  # refused roles get 404: the service hides that the thing exists


async def _owners_key_revoked(w: World, role: str, http: httpx.AsyncClient) -> httpx.Response:
    key = expect(
        await w.owner.http.post(
            "/api/v1/auth/api-keys", json={"name": f"owner-{role}", "scopes": ["projects:read"]}
        ),
        201,
    )
    return await http.delete(f"/api/v1/auth/api-keys/{key['id']}")


async def _own_key(w: World, role: str, http: httpx.AsyncClient) -> httpx.Response:
    return await http.post(
        "/api/v1/auth/api-keys", json={"name": f"mine-{role}", "scopes": ["issues:read"]}
    )


async def _members(w: World, role: str, http: httpx.AsyncClient) -> httpx.Response:
    # A role allowed to manage members does it in a project it owns (membership is the
    # owner's); the others try in the project they maintain: refused for their role.
    project = w.own_projects.get(role, w.project)
    added = await http.post(
        f"/api/v1/projects/{project}/members", json={"user_id": w.bystander.id, "role": "viewer"}
    )
    if added.status_code == 201:
        expect(await http.delete(f"/api/v1/projects/{project}/members/{w.bystander.id}"), 204)
    return added


async def _create_project(w: World, role: str, http: httpx.AsyncClient) -> httpx.Response:
    return await http.post(
        "/api/v1/projects",
        json={"name": f"new-{role}-{uuid.uuid4().hex[:6]}", "repository_url": w.repo_url},
    )


async def _start_run(w: World, role: str, http: httpx.AsyncClient) -> httpx.Response:
    started = await http.post(f"/api/v1/agents/{w.agent}/start", json={})
    if started.status_code == 202:
        expect(await http.post(f"/api/v1/agents/runs/{started.json()['id']}/cancel"), 202, 409)
    return started


def _own_comment(parent: str, assigned: str) -> Call:
    """Comment on the issue or PR assigned to the actor, edit it and delete it; a role refused
    the comment answers with that refusal."""

    async def call(w: World, role: str, http: httpx.AsyncClient) -> httpx.Response:
        path = f"/api/v1/{parent}/{getattr(w, assigned)[role]}/comments"
        written = await http.post(path, json={"body": f"{role} is on it"})
        if written.status_code != 201:
            return written
        comment = written.json()
        assert comment["author_id"] == w.actors[role].id, comment
        edited = expect(await http.patch(f"{path}/{comment['id']}", json={"body": "done"}), 200)
        assert edited["edited"] is True, edited
        return await http.delete(f"{path}/{comment['id']}")

    return call


def _owners_comment(method: str) -> Call:
    """The owner comments on the owner's issue; the actor tries to edit or delete that."""

    async def call(w: World, role: str, http: httpx.AsyncClient) -> httpx.Response:
        path = f"/api/v1/issues/{w.other_issue}/comments"
        comment = expect(await w.owner.http.post(path, json={"body": f"owner to {role}"}), 201)
        body = {"body": "not yours"} if method == "PATCH" else None
        return await http.request(method, f"{path}/{comment['id']}", json=body)

    return call


def _path(path: str, w: World, role: str) -> str:
    """``{w.<field>}`` is the world's; ``<role>`` the acting role (``{w.assigned_pr[<role>]}``:
    the actor's own)."""
    return path.replace("<role>", role).format(w=w)


def _get(path: str) -> Call:
    async def call(w: World, role: str, http: httpx.AsyncClient) -> httpx.Response:
        return await http.get(_path(path, w, role))

    return call


def _send(method: str, path: str, body: Any = None) -> Call:
    async def call(w: World, role: str, http: httpx.AsyncClient) -> httpx.Response:
        payload = body(w, role) if callable(body) else body
        return await http.request(method, _path(path, w, role), json=payload)

    return call


NOBODY: frozenset[str] = frozenset()
ADMIN = frozenset({"admin"})
WRITERS = frozenset({"admin", "user"})
AUTOMATION = frozenset({"admin", "user", "agent"})
READERS_OF_ANALYTICS = frozenset({"admin", "user", "readonly"})

CASES = [
    Case("auth admin", "list users", ADMIN, _get("/api/v1/auth/admin/users"), "users.admin"),
    Case("auth admin", "audit trail", ADMIN, _get("/api/v1/auth/admin/audit"), "users.admin"),
    Case(
        "auth admin",
        "unlock a user",
        ADMIN,
        _send("POST", "/api/v1/auth/admin/users/{w.bystander.id}/unlock"),
        "users.admin",
    ),
    Case("users", "my account", ALL, _get("/api/v1/auth/me")),
    Case("users", "my sessions", ALL, _get("/api/v1/auth/sessions")),
    Case("API keys", "create my own", ALL, _own_key),
    Case("API keys", "list my own", ALL, _get("/api/v1/auth/api-keys")),
    Case("API keys", "revoke another's", ADMIN, _owners_key_revoked, hidden=True),
    Case("projects read", "get", ALL, _get("/api/v1/projects/{w.project}")),
    Case("projects read", "list", ALL, _get("/api/v1/projects")),
    Case("projects read", "members", ALL, _get("/api/v1/projects/{w.project}/members")),
    Case(
        "projects read",
        "hidden project",
        ADMIN,
        _get("/api/v1/projects/{w.hidden_project}"),
        hidden=True,
    ),
    Case("projects write", "create", WRITERS, _create_project, "projects.create"),
    Case(
        "projects write",
        "change",
        WRITERS,
        _send("PATCH", "/api/v1/projects/{w.project}", {"description": "changed"}),
        "projects.update",
    ),
    Case(
        "projects write",
        "rotate webhook secret",
        WRITERS,
        _send("POST", "/api/v1/projects/{w.project}/webhook-secret/rotate"),
        "projects.update",
    ),
    Case("projects members", "add and remove", WRITERS, _members, "projects.members"),
    Case("issues read", "list", ALL, _get("/api/v1/issues?project_id={w.project}")),
    Case("issues read", "get", ALL, _get("/api/v1/issues/{w.other_issue}")),
    Case("issues read", "stats", ALL, _get("/api/v1/issues/stats?project_id={w.project}")),
    Case(
        "issues read", "hidden issue", ADMIN, _get("/api/v1/issues/{w.hidden_issue}"), hidden=True
    ),
    Case(
        "issues create",
        "create",
        WRITERS,
        _send("POST", "/api/v1/issues", lambda w, role: {"project_id": w.project, "title": role}),
        "issues.write",
    ),
    Case(
        "issues update-assigned",
        "change the one assigned to me",
        AUTOMATION,
        _send(
            "PATCH",
            "/api/v1/issues/{w.assigned_issue[<role>]}",
            {"labels": ["triaged"]},
        ),
        "issues.update_assigned",
    ),
    Case(
        "issues update-other",
        "change another's",
        WRITERS,
        _send("PATCH", "/api/v1/issues/{w.other_issue}", {"labels": ["touched"]}),
        "issues.write",
    ),
    Case(
        "issues update-other",
        "reassign the one assigned to me",  # whom work goes to is the writers' call
        WRITERS,
        _send(
            "PATCH",
            "/api/v1/issues/{w.reassign_issue[<role>]}",
            lambda w, role: {"assignee_id": w.owner.id},
        ),
        # The agent may change the issue, not whom it is assigned to; readonly not even that.
        {"agent": "issues.write", "readonly": "issues.update_assigned"},
    ),
    Case("PRs", "list", ALL, _get("/api/v1/prs?project_id={w.project}")),
    Case(
        "PRs",
        "track",
        WRITERS,
        _send(
            "POST",
            "/api/v1/prs",
            lambda w, role: {
                "project_id": w.project,
                "number": 100 + ROLES.index(role),
                "title": "tracked",
            },
        ),
        "issues.write",
    ),
    Case(
        "PRs",
        "change the one assigned to me",
        AUTOMATION,
        _send("PATCH", "/api/v1/prs/{w.assigned_pr[<role>]}", {"title": "mine"}),
        "issues.update_assigned",
    ),
    Case(
        "PRs",
        "change another's",
        WRITERS,
        _send("PATCH", "/api/v1/prs/{w.other_pr}", {"title": "theirs"}),
        "issues.write",
    ),
    Case("comments", "list an issue's", ALL, _get("/api/v1/issues/{w.other_issue}/comments")),
    Case("comments", "list a PR's", ALL, _get("/api/v1/prs/{w.other_pr}/comments")),
    Case(
        "comments",
        "a hidden issue's",
        ADMIN,
        _get("/api/v1/issues/{w.hidden_issue}/comments"),
        hidden=True,
    ),
    Case(
        "comments",
        "write, edit, delete mine on the issue assigned to me",
        AUTOMATION,
        _own_comment("issues", "assigned_issue"),
        "issues.comment_assigned",
    ),
    Case(
        "comments",
        "write, edit, delete mine on the PR assigned to me",
        AUTOMATION,
        _own_comment("prs", "assigned_pr"),
        "issues.comment_assigned",
    ),
    Case(
        "comments",
        "comment on another's issue",
        WRITERS,
        _send("POST", "/api/v1/issues/{w.other_issue}/comments", {"body": "seen"}),
        "issues.comment",
    ),
    Case(
        "comments",
        "comment on another's PR",
        WRITERS,
        _send("POST", "/api/v1/prs/{w.other_pr}/comments", {"body": "seen"}),
        "issues.comment",
    ),
    # Words are never put in someone's mouth: not even an admin edits another's comment.
    Case("comments", "edit another's", NOBODY, _owners_comment("PATCH")),
    Case("comments", "delete another's", WRITERS, _owners_comment("DELETE"), "issues.write"),
    Case("reviews", "read", ALL, _get("/api/v1/prs/{w.other_pr}/review")),
    Case(
        "reviews",
        "request",
        AUTOMATION,
        _send("POST", "/api/v1/prs/{w.review_pr[<role>]}/review", {"level": "quick"}),
        "reviews.request",
    ),
    Case("agents definitions", "list", ALL, _get("/api/v1/agents?project_id={w.project}")),
    Case("agents definitions", "get", ALL, _get("/api/v1/agents/{w.agent}")),
    Case(
        "agents definitions",
        "create",
        WRITERS,
        _send(
            "POST",
            "/api/v1/agents",
            lambda w, role: {
                "project_id": w.project,
                "name": f"bot-{role}",
                "type": "code_analyzer",
            },
        ),
        "agents.write",
    ),
    Case("runs", "read", ALL, _get("/api/v1/agents/runs/{w.run}")),
    Case("runs", "list", ALL, _get("/api/v1/agents/projects/{w.project}/runs")),
    Case("runs", "start and cancel", AUTOMATION, _start_run, "runs.start"),
    Case(
        "analytics",
        "dashboard",
        READERS_OF_ANALYTICS,
        _get("/api/v1/analytics/dashboard"),
        "analytics.read",
    ),
    Case(
        "analytics",
        "record an event",
        WRITERS,
        _send("POST", "/api/v1/analytics/events", {"type": "custom.matrix.tried"}),
        # The agent role lacks even reading (every analytics route needs it).
        {"agent": "analytics.read", "readonly": "analytics.write"},
    ),
    Case(
        "gateway admin", "services", ADMIN, _get("/api/v1/gateway/admin/services"), "gateway.admin"
    ),
    Case("gateway admin", "detailed health", ADMIN, _get("/health/detailed"), "health.detailed"),
]


def _expected_permission(case: Case, role: str) -> str | None:
    if isinstance(case.permission, dict):
        return case.permission[role]
    return case.permission


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.family}: {c.name}")
async def test_each_role_may_do_what_the_permission_table_says(
    world: World, case: Case, role: str
) -> None:
    response = await case.call(world, role, world.actors[role].http)
    if role in case.allowed:
        assert 200 <= response.status_code < 300, describe(response)
        return
    expected = 404 if case.hidden else 403
    assert response.status_code == expected, describe(response)
    assert response.headers["content-type"].startswith(PROBLEM), describe(response)
    wanted = _expected_permission(case, role)
    if expected == 403 and wanted is not None:
        assert response.json().get("permission") == wanted, describe(response)


async def test_an_automation_account_works_with_its_api_key(world: World, stack: Stack) -> None:
    """The agent signs in once, makes its API key, and from then on uses only the key: it
    starts runs and changes its assigned issue, and the key opens nothing of administration."""
    agent = world.actors["agent"]
    key = expect(
        await agent.http.post(
            "/api/v1/auth/api-keys",
            json={
                "name": "automation",
                "scopes": ["projects:read", "issues:write", "agents:write"],
            },
        ),
        201,
    )
    # At the gateway the key itself is the credential (it trades it for a token per request).
    async with gateway_client(stack, headers={"X-API-Key": key["key"]}) as bot:
        expect(await bot.get(f"/api/v1/projects/{world.project}"), 200)
        expect(
            await bot.patch(
                f"/api/v1/issues/{world.assigned_issue['agent']}", json={"priority": "high"}
            ),
            200,
        )
        refused = await bot.patch(f"/api/v1/issues/{world.other_issue}", json={"priority": "low"})
        assert refused.status_code == 403, describe(refused)
        assert refused.json()["permission"] == "issues.write", describe(refused)
        # It reports on its work; the comment names the account its key belongs to.
        comment = expect(
            await bot.post(
                f"/api/v1/issues/{world.assigned_issue['agent']}/comments",
                json={"body": "Reproduced; a fix follows"},
            ),
            201,
        )
        assert comment["author_id"] == agent.id, comment
        assert comment["author_name"] == "as-agent", comment  # its full name (new_user's)
        refused = await bot.post(
            f"/api/v1/issues/{world.other_issue}/comments", json={"body": "not mine"}
        )
        assert refused.status_code == 403, describe(refused)
        assert refused.json()["permission"] == "issues.comment", describe(refused)
        started = expect(await bot.post(f"/api/v1/agents/{world.agent}/start", json={}), 202)
        expect(await bot.post(f"/api/v1/agents/runs/{started['id']}/cancel"), 202, 409)
        # Not even its own account is managed with a key, let alone anyone else's.
        for path in ("/api/v1/auth/admin/users", "/api/v1/auth/api-keys"):
            response = await bot.get(path)
            assert response.status_code == 403, describe(response)
        response = await bot.get("/api/v1/gateway/admin/services")
        assert response.status_code == 403, describe(response)
