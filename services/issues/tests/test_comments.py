"""Comments on issues and pull requests: written by a project's owner and maintainers (and by
an agent-role account on what is assigned to it), read by anyone who sees the issue, edited by
their author only, deleted by their author or moderated away by an owner, maintainer or admin,
each change an event in the outbox with the change itself."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from swe_common.errors import Forbidden
from swe_common.security import Caller, Principal
from swe_issues.comments import service
from swe_issues.comments.models import Comment
from swe_issues.comments.repository import Parent
from swe_issues.projects_read_model.service import ensure_may_comment

PROBLEM = "application/problem+json"


async def _comment(env, path: str, headers: dict[str, str], body: str) -> dict[str, Any]:
    r = await env.client.post(f"{path}/comments", json={"body": body}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _outbox(env, event_type: str, comment_id: str) -> list[dict[str, Any]]:
    """The service's outbox rows of one type about one comment (kept after publishing)."""
    async with env.app.state.db.transaction() as session:
        rows = await session.execute(
            sa.text(
                "SELECT payload FROM issues.event_outbox WHERE event_type = :t"
                " AND payload -> 'data' ->> 'id' = :id"
            ),
            {"t": event_type, "id": comment_id},
        )
        return [row[0] for row in rows]


async def test_a_maintainer_comments_on_an_issue_and_everyone_in_the_project_reads_it(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    path = f"/api/v1/issues/{issue['id']}"
    written = await _comment(
        env, path, env.headers(team.maintainer, name="Ada Lovelace"), "  Reproduced on 17.2  "
    )
    assert written["body"] == "Reproduced on 17.2"  # surrounding blanks dropped
    assert written["issue_id"] == issue["id"] and written["pull_request_id"] is None
    assert written["project_id"] == team.project_id
    assert written["author_id"] == team.maintainer
    assert written["author_name"] == "Ada Lovelace"
    assert written["edited"] is False
    assert written["created_at"] == written["updated_at"]
    for reader in (team.viewer, team.owner, team.admin):
        roles = ("admin",) if reader == team.admin else ("user",)
        r = await env.client.get(f"{path}/comments", headers=env.headers(reader, roles=roles))
        assert r.status_code == 200, r.text
        assert r.json()["total"] == 1 and r.json()["items"][0]["id"] == written["id"]
    readonly = env.headers(team.viewer, roles=("readonly",))
    assert (await env.client.get(f"{path}/comments", headers=readonly)).status_code == 200


async def test_comments_list_oldest_first_in_pages(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    path = f"/api/v1/issues/{issue['id']}"
    owner = env.headers(team.owner)
    ids = [(await _comment(env, path, owner, f"note {i}"))["id"] for i in range(5)]
    first = await env.client.get(f"{path}/comments?limit=2", headers=owner)
    assert first.status_code == 200
    assert first.json()["total"] == 5 and first.json()["limit"] == 2
    assert [c["id"] for c in first.json()["items"]] == ids[:2]
    rest = await env.client.get(f"{path}/comments?limit=2&offset=2", headers=owner)
    assert [c["id"] for c in rest.json()["items"]] == ids[2:4]
    last = await env.client.get(f"{path}/comments?limit=2&offset=4", headers=owner)
    assert [c["body"] for c in last.json()["items"]] == ["note 4"]
    past = await env.client.get(f"{path}/comments?offset=10", headers=owner)
    assert past.json() == {"items": [], "total": 5, "limit": 20, "offset": 10}
    # Another issue's list holds none of them.
    other = await env.create_issue(team)
    empty = await env.client.get(f"/api/v1/issues/{other['id']}/comments", headers=owner)
    assert empty.json()["total"] == 0


async def test_the_author_edits_a_comment_and_it_shows_as_edited(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    path = f"/api/v1/issues/{issue['id']}"
    comment = await _comment(env, path, env.headers(team.maintainer), "Fixed in 2.1")
    await asyncio.sleep(0.01)
    r = await env.client.patch(
        f"{path}/comments/{comment['id']}",
        json={"body": "Fixed in 2.2"},
        headers=env.headers(team.maintainer),
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["body"] == "Fixed in 2.2" and edited["edited"] is True
    assert edited["created_at"] == comment["created_at"]
    assert datetime.fromisoformat(edited["updated_at"]) > datetime.fromisoformat(
        edited["created_at"]
    )
    listed = await env.client.get(f"{path}/comments", headers=env.headers(team.viewer))
    assert listed.json()["items"][0]["body"] == "Fixed in 2.2"
    assert listed.json()["items"][0]["edited"] is True
    events = await _outbox(env, "issues.comment.updated", comment["id"])
    assert [e["data"]["body"] for e in events] == ["Fixed in 2.2"]


async def test_nobody_but_the_author_edits_a_comment(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    path = f"/api/v1/issues/{issue['id']}"
    comment = await _comment(env, path, env.headers(team.owner), "Owner's words")
    for other in (env.headers(team.maintainer), env.headers(team.admin, roles=("admin",))):
        r = await env.client.patch(
            f"{path}/comments/{comment['id']}", json={"body": "Not mine"}, headers=other
        )
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith(PROBLEM)
    listed = await env.client.get(f"{path}/comments", headers=env.headers(team.owner))
    assert listed.json()["items"][0]["body"] == "Owner's words"


async def test_a_blank_or_oversized_body_is_a_422_naming_the_field(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    path = f"/api/v1/issues/{issue['id']}/comments"
    owner = env.headers(team.owner)
    for body in ("", "   \n\t ", "x" * 10_001, "nul \x00 inside"):
        r = await env.client.post(path, json={"body": body}, headers=owner)
        assert r.status_code == 422, (body[:10], r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
        assert [e["field"] for e in r.json()["errors"]] == ["body.body"], r.text
    assert (await env.client.post(path, json={"body": "x" * 10_000}, headers=owner)).is_success
    comment = (await env.client.get(path, headers=owner)).json()["items"][0]
    r = await env.client.patch(f"{path}/{comment['id']}", json={"body": " "}, headers=owner)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.body"


async def test_the_author_deletes_a_comment_and_it_is_gone(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    path = f"/api/v1/issues/{issue['id']}"
    comment = await _comment(env, path, env.headers(team.maintainer), "Oops, wrong issue")
    r = await env.client.delete(
        f"{path}/comments/{comment['id']}", headers=env.headers(team.maintainer)
    )
    assert r.status_code == 204, r.text
    listed = await env.client.get(f"{path}/comments", headers=env.headers(team.owner))
    assert listed.json()["total"] == 0
    again = await env.client.delete(
        f"{path}/comments/{comment['id']}", headers=env.headers(team.maintainer)
    )
    assert again.status_code == 404
    deleted = await env.bus.wait_for("issues.comment.deleted", id=comment["id"])
    assert deleted["data"]["deleted_by"] == team.maintainer
    assert deleted["data"]["author_id"] == team.maintainer


async def test_a_maintainer_or_an_admin_deletes_anothers_comment_a_viewer_cannot(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    path = f"/api/v1/issues/{issue['id']}"
    first = await _comment(env, path, env.headers(team.owner), "Spam?")
    second = await _comment(env, path, env.headers(team.owner), "More spam?")
    viewer = await env.client.delete(
        f"{path}/comments/{first['id']}", headers=env.headers(team.viewer)
    )
    assert viewer.status_code == 403, viewer.text
    agent = await env.client.delete(
        f"{path}/comments/{first['id']}", headers=env.headers(team.maintainer, roles=("agent",))
    )
    assert agent.status_code == 403 and agent.json()["permission"] == "issues.write"
    by_maintainer = await env.client.delete(
        f"{path}/comments/{first['id']}", headers=env.headers(team.maintainer)
    )
    assert by_maintainer.status_code == 204, by_maintainer.text
    by_admin = await env.client.delete(
        f"{path}/comments/{second['id']}", headers=env.headers(team.admin, roles=("admin",))
    )
    assert by_admin.status_code == 204, by_admin.text
    listed = await env.client.get(f"{path}/comments", headers=env.headers(team.owner))
    assert listed.json()["total"] == 0


async def test_readonly_and_viewers_cannot_comment(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    path = f"/api/v1/issues/{issue['id']}/comments"
    readonly = await env.client.post(
        path, json={"body": "hi"}, headers=env.headers(team.maintainer, roles=("readonly",))
    )
    assert readonly.status_code == 403, readonly.text
    assert readonly.headers["content-type"].startswith(PROBLEM)
    assert readonly.json()["permission"] == "issues.comment"
    viewer = await env.client.post(path, json={"body": "hi"}, headers=env.headers(team.viewer))
    assert viewer.status_code == 403, viewer.text
    key = env.headers(team.owner, scopes=("issues:read",), api_key_id=str(uuid.uuid4()))
    read_key = await env.client.post(path, json={"body": "hi"}, headers=key)
    assert read_key.status_code == 403, read_key.text
    assert (await env.client.get(path, headers=key)).status_code == 200
    write_key = env.headers(team.owner, scopes=("issues:write",), api_key_id=str(uuid.uuid4()))
    assert (await env.client.post(path, json={"body": "by key"}, headers=write_key)).is_success
    listed = await env.client.get(path, headers=env.headers(team.owner))
    assert [c["body"] for c in listed.json()["items"]] == ["by key"]


async def test_hidden_or_unknown_parents_and_comments_are_404(env, seed):
    team = await seed()
    elsewhere = await seed()
    issue = await env.create_issue(team)
    pr = await env.create_pr(team, 7)
    other_issue = await env.create_issue(team)
    path = f"/api/v1/issues/{issue['id']}"
    comment = await _comment(env, path, env.headers(team.owner), "Only for the team")
    stranger = env.headers(elsewhere.owner)
    for method, url, body in (
        ("GET", f"{path}/comments", None),
        ("POST", f"{path}/comments", {"body": "hello"}),
        ("PATCH", f"{path}/comments/{comment['id']}", {"body": "x"}),
        ("DELETE", f"{path}/comments/{comment['id']}", None),
        ("GET", f"/api/v1/prs/{pr['id']}/comments", None),
        ("GET", f"/api/v1/issues/{uuid.uuid4()}/comments", None),
        ("GET", f"/api/v1/prs/{uuid.uuid4()}/comments", None),
    ):
        r = await env.client.request(method, url, json=body, headers=stranger)
        assert r.status_code == 404, (method, url, r.text)
        assert r.headers["content-type"].startswith(PROBLEM)
    # The comment's id under another issue, or under a pull request, is not found either.
    owner = env.headers(team.owner)
    for wrong in (
        f"/api/v1/issues/{other_issue['id']}/comments/{comment['id']}",
        f"/api/v1/prs/{pr['id']}/comments/{comment['id']}",
        f"{path}/comments/{uuid.uuid4()}",
    ):
        r = await env.client.patch(wrong, json={"body": "moved"}, headers=owner)
        assert r.status_code == 404, (wrong, r.text)
        r = await env.client.delete(wrong, headers=owner)
        assert r.status_code == 404, (wrong, r.text)
    listed = await env.client.get(f"{path}/comments", headers=owner)
    assert listed.json()["items"][0]["body"] == "Only for the team"


async def test_comments_on_a_pull_request(env, seed):
    team = await seed()
    pr = await env.create_pr(team, 11)
    path = f"/api/v1/prs/{pr['id']}"
    comment = await _comment(env, path, env.headers(team.maintainer), "LGTM once CI passes")
    assert comment["pull_request_id"] == pr["id"] and comment["issue_id"] is None
    r = await env.client.patch(
        f"{path}/comments/{comment['id']}",
        json={"body": "LGTM"},
        headers=env.headers(team.maintainer),
    )
    assert r.status_code == 200 and r.json()["edited"] is True
    listed = await env.client.get(f"{path}/comments", headers=env.headers(team.viewer))
    assert [c["body"] for c in listed.json()["items"]] == ["LGTM"]
    created = await env.bus.wait_for("issues.comment.created", id=comment["id"])
    assert created["data"]["pull_request_id"] == pr["id"]
    assert created["data"]["issue_id"] is None
    assert created["partitionkey"] == pr["id"]


async def test_deleting_the_issue_or_pull_request_deletes_its_comments(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    pr = await env.create_pr(team, 12)
    owner = env.headers(team.owner)
    on_issue = await _comment(env, f"/api/v1/issues/{issue['id']}", owner, "on the issue")
    on_pr = await _comment(env, f"/api/v1/prs/{pr['id']}", owner, "on the PR")
    assert (await env.client.delete(f"/api/v1/issues/{issue['id']}", headers=owner)).is_success
    assert (await env.client.delete(f"/api/v1/prs/{pr['id']}", headers=owner)).is_success
    async with env.app.state.db.transaction() as session:
        left = await session.scalar(
            sa.select(sa.func.count())
            .select_from(Comment)
            .where(Comment.id.in_([uuid.UUID(on_issue["id"]), uuid.UUID(on_pr["id"])]))
        )
    assert left == 0


async def test_the_event_is_written_with_the_comment_and_rolled_back_with_it(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    path = f"/api/v1/issues/{issue['id']}"
    comment = await _comment(env, path, env.headers(team.owner, name="Grace"), "Ship it")
    events = await _outbox(env, "issues.comment.created", comment["id"])
    assert len(events) == 1
    data = events[0]["data"]
    assert data["body"] == "Ship it" and data["author_id"] == team.owner
    assert data["author_name"] == "Grace" and data["issue_id"] == issue["id"]
    assert data["project_id"] == team.project_id and data["pull_request_id"] is None
    # A transaction that fails after the comment is written leaves neither it nor its event.
    caller = Caller(Principal(subject=team.owner, roles=frozenset({"user"})))
    written: list[str] = []

    class Abort(Exception):
        pass

    try:
        async with env.app.state.db.transaction() as session:
            parent = Parent("issue", uuid.UUID(issue["id"]))
            comment_row = await service.create_comment(session, caller, parent, "Never seen")
            written.append(str(comment_row.id))
            raise Abort
    except Abort:
        pass
    assert await _outbox(env, "issues.comment.created", written[0]) == []
    listed = await env.client.get(f"{path}/comments", headers=env.headers(team.owner))
    assert [c["body"] for c in listed.json()["items"]] == ["Ship it"]


async def test_the_author_name_falls_back_to_the_account(env, seed):
    team = await seed()
    issue = await env.create_issue(team)
    path = f"/api/v1/issues/{issue['id']}"
    named = await _comment(env, path, env.headers(team.owner, preferred_username="ada"), "a")
    assert named["author_name"] == "ada"
    bare = await _comment(env, path, env.headers(team.owner), "b")
    assert bare["author_name"] == f"account {team.owner[:8]}"


# -- the agent role -----------------------------------------------------------------------------


async def test_the_agent_role_comments_on_the_issue_and_pr_assigned_to_it(env, seed):
    team = await seed()
    issue = await env.create_issue(team, team.maintainer)
    pr = await env.create_pr(team, 21, team.maintainer)
    for path in (f"/api/v1/issues/{issue['id']}", f"/api/v1/prs/{pr['id']}"):
        comment = await _comment(env, path, env.agent_headers(team), "Working on it")
        assert comment["author_name"] == "fix-bot"
        edited = await env.client.patch(
            f"{path}/comments/{comment['id']}",
            json={"body": "Done"},
            headers=env.agent_headers(team),
        )
        assert edited.status_code == 200 and edited.json()["edited"] is True
        gone = await env.client.delete(
            f"{path}/comments/{comment['id']}", headers=env.agent_headers(team)
        )
        assert gone.status_code == 204, gone.text


async def test_the_agent_role_cannot_comment_on_what_is_not_assigned_to_it(env, seed):
    team = await seed()
    theirs = await env.create_issue(team, team.owner)
    unassigned = await env.create_issue(team)
    pr = await env.create_pr(team, 22, team.owner)
    for path in (
        f"/api/v1/issues/{theirs['id']}",
        f"/api/v1/issues/{unassigned['id']}",
        f"/api/v1/prs/{pr['id']}",
    ):
        r = await env.client.post(
            f"{path}/comments", json={"body": "bot"}, headers=env.agent_headers(team)
        )
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith(PROBLEM)
        assert r.json()["permission"] == "issues.comment"
        # It still reads them.
        assert (
            await env.client.get(f"{path}/comments", headers=env.agent_headers(team))
        ).is_success
    # A viewer of the project with the agent role comments nowhere, assigned or not.
    to_viewer = await env.create_issue(team, team.viewer)
    r = await env.client.post(
        f"/api/v1/issues/{to_viewer['id']}/comments",
        json={"body": "bot"},
        headers=env.headers(team.viewer, roles=("agent",)),
    )
    assert r.status_code == 403, r.text


async def test_an_agent_no_longer_assigned_cannot_edit_what_it_wrote(env, seed):
    team = await seed()
    issue = await env.create_issue(team, team.maintainer)
    path = f"/api/v1/issues/{issue['id']}"
    comment = await _comment(env, path, env.agent_headers(team), "Taking this")
    reassigned = await env.client.patch(
        path, json={"assignee_id": team.owner}, headers=env.headers(team.owner)
    )
    assert reassigned.status_code == 200
    r = await env.client.patch(
        f"{path}/comments/{comment['id']}", json={"body": "x"}, headers=env.agent_headers(team)
    )
    assert r.status_code == 403 and r.json()["permission"] == "issues.comment"


def test_the_refusal_names_the_assigned_permission_for_a_role_holding_neither() -> None:
    # The rule itself, without HTTP: readonly on its own assigned issue lacks the narrower one.
    me = uuid.uuid4()
    readonly = Caller(Principal(subject=str(me), roles=frozenset({"readonly"})))
    with pytest.raises(Forbidden) as refused:
        ensure_may_comment("maintainer", readonly, me, "issues")
    assert refused.value.extra == {"permission": "issues.comment_assigned"}
