"""How many SQL statements the busiest endpoints send: fixed, and not growing with the data.

The issues service answers most of the platform's requests (under the e2e load run, 60% of
them), and on a busy machine each database round trip costs a request a turn of the event
loop while it holds a pooled connection. So the hot paths are held to a fixed statement count:
reading by id loads the row and its project's read-model row together, a list page carries its
total (``count(*) OVER ()``), and creating is one INSERT (no UPDATE of the row just inserted).

Counted: the statements a request's own session sends (``before_cursor_execute`` on the
engine, only while the request's context is marked, so the outbox relay and the consumers,
which run in their own tasks, are left out). Not counted: the connection pool's pre-ping and
psycopg's implicit ``BEGIN``/``COMMIT``, which every service pays alike.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event

_COUNTING: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "issues_test_counting", default=None
)


@pytest.fixture
def statements(env: Any) -> Iterator[Any]:
    engine = env.app.state.db.engine.sync_engine

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        sink = _COUNTING.get()
        if sink is not None:
            sink.append(" ".join(statement.split()))

    async def count(method: str, path: str, **kwargs: Any) -> tuple[Any, list[str]]:
        sink: list[str] = []
        token = _COUNTING.set(sink)
        try:
            response = await env.client.request(method, path, **kwargs)
        finally:
            _COUNTING.reset(token)
        return response, sink

    event.listen(engine, "before_cursor_execute", record)
    yield count
    event.remove(engine, "before_cursor_execute", record)


async def _issue(env: Any, team: Any, title: str = "Crash on save") -> str:
    response = await env.client.post(
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": title},
        headers=env.headers(team.owner),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def _pr(env: Any, team: Any, number: int) -> str:
    response = await env.client.post(
        "/api/v1/prs",
        json={"project_id": team.project_id, "number": number, "title": f"PR {number}"},
        headers=env.headers(team.owner),
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _assert_count(sent: list[str], expected: int) -> None:
    assert len(sent) == expected, "\n".join([f"{len(sent)} statements:", *(s[:200] for s in sent)])


async def test_reading_an_issue_is_one_query_with_its_project(env, seed, statements):
    team = await seed()
    issue_id = await _issue(env, team)
    response, sent = await statements(
        "GET", f"/api/v1/issues/{issue_id}", headers=env.headers(team.viewer)
    )
    assert response.status_code == 200
    _assert_count(sent, 1)


async def test_a_stranger_reading_an_issue_gets_404_from_the_same_single_query(
    env, seed, statements
):
    team = await seed()
    issue_id = await _issue(env, team)
    response, sent = await statements(
        "GET", f"/api/v1/issues/{issue_id}", headers=env.headers(team.stranger)
    )
    assert response.status_code == 404
    _assert_count(sent, 1)


async def test_listing_issues_is_one_query_however_many_are_on_the_page(env, seed, statements):
    team = await seed()
    for n in range(6):
        await _issue(env, team, f"issue {n}")
    response, sent = await statements(
        "GET",
        "/api/v1/issues",
        params={"project_id": team.project_id, "limit": 20, "sort": "-created_at"},
        headers=env.headers(team.viewer),
    )
    assert response.status_code == 200
    assert (len(response.json()["items"]), response.json()["total"]) == (6, 6)
    # The project's read-model row along with the page and its total (one statement).
    _assert_count(sent, 1)


async def test_creating_an_issue_inserts_it_once_with_its_event(env, seed, statements):
    team = await seed()
    response, sent = await statements(
        "POST",
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": "New", "priority": "high"},
        headers=env.headers(team.owner),
    )
    assert response.status_code == 201, response.text
    assert not [s for s in sent if s.startswith("UPDATE")], sent
    # project row, INSERT issue, INSERT outbox (no NOTIFY: the commit wakes this process's relay)
    _assert_count(sent, 3)


async def test_changing_an_issue_locks_it_with_its_project_in_one_query(env, seed, statements):
    team = await seed()
    issue_id = await _issue(env, team)
    response, sent = await statements(
        "PATCH",
        f"/api/v1/issues/{issue_id}",
        json={"priority": "critical", "labels": ["perf"]},
        headers=env.headers(team.maintainer),
    )
    assert response.status_code == 200, response.text
    assert sent[0].endswith("FOR UPDATE OF issues"), sent[0]
    _assert_count(sent, 3)  # issue + project FOR UPDATE OF issues, UPDATE, outbox (no NOTIFY)


async def test_reading_a_pull_request_is_one_query_with_its_project(env, seed, statements):
    team = await seed()
    pr_id = await _pr(env, team, 1)
    response, sent = await statements(
        "GET", f"/api/v1/prs/{pr_id}", headers=env.headers(team.viewer)
    )
    assert response.status_code == 200
    _assert_count(sent, 1)


async def test_listing_pull_requests_is_one_query_however_many_are_on_the_page(
    env, seed, statements
):
    team = await seed()
    for number in range(1, 5):
        await _pr(env, team, number)
    response, sent = await statements(
        "GET",
        "/api/v1/prs",
        params={"project_id": team.project_id, "limit": 20},
        headers=env.headers(team.viewer),
    )
    assert response.status_code == 200
    assert (len(response.json()["items"]), response.json()["total"]) == (4, 4)
    _assert_count(sent, 1)  # the project's read-model row along with the page and its total


async def test_a_page_past_the_end_still_reports_the_total(env, seed):
    team = await seed()
    for n in range(3):
        await _issue(env, team, f"issue {n}")
    response = await env.client.get(
        "/api/v1/issues",
        params={"project_id": team.project_id, "limit": 2, "offset": 10},
        headers=env.headers(team.owner),
    )
    assert response.status_code == 200
    assert (response.json()["items"], response.json()["total"]) == ([], 3)


async def test_a_page_of_comments_is_two_queries_however_many_are_on_it(env, seed, statements):
    team = await seed()
    issue_id = await _issue(env, team)
    for n in range(6):
        written = await env.client.post(
            f"/api/v1/issues/{issue_id}/comments",
            json={"body": f"note {n}"},
            headers=env.headers(team.owner),
        )
        assert written.status_code == 201, written.text
    response, sent = await statements(
        "GET", f"/api/v1/issues/{issue_id}/comments", headers=env.headers(team.viewer)
    )
    assert response.status_code == 200
    assert (len(response.json()["items"]), response.json()["total"]) == (6, 6)
    _assert_count(sent, 2)  # the issue with its project; the page with its total


async def test_commenting_is_three_statements(env, seed, statements):
    team = await seed()
    pr_id = await _pr(env, team, 77)
    response, sent = await statements(
        "POST",
        f"/api/v1/prs/{pr_id}/comments",
        json={"body": "Looks good"},
        headers=env.headers(team.maintainer),
    )
    assert response.status_code == 201, response.text
    assert sent[0].endswith("FOR UPDATE OF pull_requests"), sent[0]
    assert not [s for s in sent if s.startswith("UPDATE")], sent
    _assert_count(sent, 3)  # PR + project FOR UPDATE OF pull_requests, INSERT, outbox
