"""What the console's run pages read: a project's runs, a pending run's place behind the
project's cap, the source lines around a finding, and the per-user notification stream (every
run status change the caller may see, resumable from a cursor)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import websockets
from websockets.asyncio.client import connect

from swe_agents.analysis import snippets
from swe_common.security import REVOKED_SESSION_KEY
from swe_common.testing import TokenFactory, eventually

from .conftest import bearer_protocols, wait_run
from .gitrepo import DEFECTS_PY, RESOLVER_SCRIPT

pytestmark = pytest.mark.usefixtures("worker")
ISSUE = {"issue": {"title": "Add subtraction", "description": "app/clean.py needs sub()"}}
TERMINAL = ("completed", "failed", "cancelled")


@pytest.fixture
async def team(client: Any, tokens: TokenFactory, projects: Any, planted: Path) -> dict[str, Any]:
    owner, viewer = uuid.uuid4(), uuid.uuid4()
    project = await projects.create(
        owner, f"file://{planted}", members=[{"user_id": str(viewer), "role": "viewer"}]
    )
    headers = tokens.headers(owner)

    async def agent(type_: str, name: str) -> str:
        body = {"project_id": str(project), "name": name, "type": type_}
        response = await client.post("/api/v1/agents", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    return {
        "owner": owner,
        "viewer": viewer,
        "project": project,
        "headers": headers,
        "agent": agent,
    }


async def start(client: Any, team: dict[str, Any], agent_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/agents/{agent_id}/start", json=body, headers=team["headers"]
    )
    assert response.status_code == 202, response.text
    return dict(response.json())


# -- a project's runs -----------------------------------------------------------------------


async def test_a_projects_runs_list_every_agents_runs_with_score_and_no_result(
    client: Any, tokens: TokenFactory, team: dict[str, Any], provider: Any
) -> None:
    provider.reset(RESOLVER_SCRIPT)
    analyzer = await team["agent"]("code_analyzer", "analyzer")
    resolver = await team["agent"]("issue_resolver", "resolver")
    analysis = await start(client, team, analyzer)
    resolution = await start(client, team, resolver, **ISSUE)
    for run in (analysis, resolution):
        await wait_run(client, team["headers"], run["id"], *TERMINAL)
    url = f"/api/v1/agents/projects/{team['project']}/runs"

    listed = await client.get(url, headers=team["headers"])
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 2
    by_id = {item["id"]: item for item in page["items"]}
    assert set(by_id) == {analysis["id"], resolution["id"]}
    assert [item["id"] for item in page["items"]] == [resolution["id"], analysis["id"]]
    assert by_id[analysis["id"]]["agent_name"] == "analyzer"
    assert by_id[analysis["id"]]["status"] == "completed"
    assert isinstance(by_id[analysis["id"]]["score"], float)
    assert by_id[analysis["id"]]["duration_ms"] >= 0
    assert all("result" not in item for item in page["items"])

    only = await client.get(url, params={"agent_id": resolver}, headers=team["headers"])
    assert [item["id"] for item in only.json()["items"]] == [resolution["id"]]
    completed = await client.get(url, params={"status": "completed"}, headers=team["headers"])
    assert {i["status"] for i in completed.json()["items"]} == {"completed"}
    pending = await client.get(url, params={"status": "pending"}, headers=team["headers"])
    assert pending.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}
    oldest = await client.get(
        url, params={"sort": "queued_at", "limit": 1}, headers=team["headers"]
    )
    assert [i["id"] for i in oldest.json()["items"]] == [analysis["id"]]
    assert oldest.json()["total"] == 2
    viewer = await client.get(url, headers=tokens.headers(team["viewer"]))
    assert viewer.json()["total"] == 2


async def test_a_projects_runs_are_not_found_for_strangers_and_unknown_projects(
    client: Any, tokens: TokenFactory, team: dict[str, Any]
) -> None:
    stranger = tokens.headers(uuid.uuid4())
    for project, headers in ((team["project"], stranger), (uuid.uuid4(), team["headers"])):
        response = await client.get(f"/api/v1/agents/projects/{project}/runs", headers=headers)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
    admin = tokens.headers(uuid.uuid4(), roles=("admin",))
    response = await client.get(f"/api/v1/agents/projects/{team['project']}/runs", headers=admin)
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "exploded"}, "query.status"),
        ({"agent_id": "not-a-uuid"}, "query.agent_id"),
        ({"sort": "result"}, "query.sort"),
        ({"limit": 1000}, "query.limit"),
    ],
)
async def test_a_projects_runs_with_bad_parameters_is_a_422_naming_them(
    client: Any, team: dict[str, Any], params: dict[str, Any], field: str
) -> None:
    response = await client.get(
        f"/api/v1/agents/projects/{team['project']}/runs", params=params, headers=team["headers"]
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_a_bad_project_id_is_a_422(client: Any, team: dict[str, Any]) -> None:
    response = await client.get("/api/v1/agents/projects/nope/runs", headers=team["headers"])
    assert response.status_code == 422


# -- a pending run behind the project's cap -------------------------------------------------


async def test_a_pending_run_says_when_the_projects_runs_take_every_slot(
    client: Any, team: dict[str, Any], engine: Any, settings: Any
) -> None:
    agent = uuid.UUID(await team["agent"]("code_analyzer", "capped"))
    limit = settings.max_active_runs_per_project
    lease = datetime.now(UTC) + timedelta(minutes=5)
    running = [uuid.uuid4() for _ in range(limit)]
    waiting = uuid.uuid4()
    rows = [
        {"id": run_id, "status": "running", "lease": lease, "worker": "elsewhere"}
        for run_id in running
    ] + [{"id": waiting, "status": "pending", "lease": None, "worker": None}]
    async with engine.begin() as conn:
        for row in rows:
            await conn.execute(
                sa.text(
                    "INSERT INTO agents.runs (id, agent_id, project_id, agent_type, status,"
                    " trigger, config, timeout_seconds, cancel_requested, attempts, worker_id,"
                    " lease_expires_at) VALUES (:id, :agent, :project, 'code_analyzer',"
                    " :status, '{}', '{}', 60, false, 1, :worker, :lease)"
                ),
                {**row, "agent": agent, "project": team["project"]},
            )
    try:
        url = f"/api/v1/agents/runs/{waiting}"
        queued = (await client.get(url, headers=team["headers"])).json()
        assert queued["queue"] == {"running": limit, "limit": limit, "at_capacity": True}
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("UPDATE agents.runs SET status = 'cancelled' WHERE id = :id"),
                {"id": running[0]},
            )
        freed = (await client.get(url, headers=team["headers"])).json()
        assert freed["queue"] == {"running": limit - 1, "limit": limit, "at_capacity": False}
        done = await client.get(f"/api/v1/agents/runs/{running[1]}", headers=team["headers"])
        assert done.json()["queue"] is None
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "UPDATE agents.runs SET status = 'cancelled', lease_expires_at = NULL"
                    " WHERE agent_id = :agent"
                ),
                {"agent": agent},
            )


# -- a finding's source lines ---------------------------------------------------------------


async def test_a_findings_source_lines_are_kept_with_the_run(
    client: Any, tokens: TokenFactory, team: dict[str, Any]
) -> None:
    agent = await team["agent"]("code_analyzer", "sources")
    run = await start(client, team, agent)
    done = await wait_run(client, team["headers"], run["id"], *TERMINAL)
    assert done["status"] == "completed", done
    finding = next(f for f in done["result"]["findings"] if f["path"] == "app/defects.py")
    url = f"/api/v1/agents/runs/{run['id']}/source"
    params = {"path": finding["path"], "line": finding["line"]}

    response = await client.get(url, params=params, headers=team["headers"])
    assert response.status_code == 200, response.text
    source = response.json()
    file_lines = DEFECTS_PY.split("\n")
    assert source["path"] == "app/defects.py" and source["line"] == finding["line"]
    assert source["start_line"] <= max(1, finding["line"] - 5)
    assert source["end_line"] >= min(len(file_lines) - 1, finding["line"] + 5)
    for line in source["lines"]:
        assert line["text"] == file_lines[line["number"] - 1]
    numbers = [line["number"] for line in source["lines"]]
    assert numbers == list(range(source["start_line"], source["end_line"] + 1))
    assert finding["line"] in numbers

    viewer = await client.get(url, params=params, headers=tokens.headers(team["viewer"]))
    assert viewer.status_code == 200
    stranger = await client.get(url, params=params, headers=tokens.headers(uuid.uuid4()))
    assert stranger.status_code == 404
    other_file = await client.get(
        url, params={"path": "README.md", "line": 1}, headers=team["headers"]
    )
    assert other_file.status_code == 404
    assert other_file.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"path": "app/x.py", "line": 0}, "query.line"),
        ({"path": "app/x.py", "line": 2**31}, "query.line"),
        ({"path": "app/x.py"}, "query.line"),
        ({"path": "", "line": 1}, "query.path"),
        ({"path": "a\x00b", "line": 1}, "query.path"),
        ({"path": "a" * 1001, "line": 1}, "query.path"),
    ],
)
async def test_a_source_request_with_bad_parameters_is_a_422(
    client: Any, team: dict[str, Any], params: dict[str, Any], field: str
) -> None:
    response = await client.get(
        f"/api/v1/agents/runs/{uuid.uuid4()}/source", params=params, headers=team["headers"]
    )
    assert response.status_code == 422, response.text
    assert field in [e["field"] for e in response.json()["errors"]]


def test_source_windows_are_merged_bounded_and_read_only_from_plain_files(
    tmp_path: Path,
) -> None:
    root = tmp_path / "tree"
    (root / "pkg").mkdir(parents=True)
    lines = [f"line {n}" for n in range(1, 61)]
    lines[29] = "x" * 1000
    (root / "pkg" / "a.py").write_text("\r\n".join(lines) + "\n")
    (root / "bin.py").write_bytes(b"print(1)\n\0\0\n")
    (tmp_path / "secret.txt").write_text("outside the tree\n")
    (root / "link.py").symlink_to(tmp_path / "secret.txt")
    findings = [
        {"path": "pkg/a.py", "line": 3, "end_line": 3},
        {"path": "pkg/a.py", "line": 8, "end_line": 9},  # overlaps the first: one window
        {"path": "pkg/a.py", "line": 30, "end_line": 200},  # a long span: 20 lines at most
        {"path": "pkg/a.py", "line": 58, "end_line": 58},  # near the end: cut at the end
        {"path": "bin.py", "line": 1},
        {"path": "link.py", "line": 1},
        {"path": "../secret.txt", "line": 1},
        {"path": "missing.py", "line": 1},
        {"path": "pkg/a.py", "line": 0},
    ]
    windows = snippets.capture(root, findings)
    assert [(w.path, w.start_line, w.end_line) for w in windows] == [
        ("pkg/a.py", 1, 14),
        ("pkg/a.py", 25, 60),
    ]
    first, second = windows
    assert first.lines == lines[0:14]
    assert second.lines[30 - 25] == "x" * snippets.MAX_LINE_CHARS
    assert second.lines[0] == "line 25" and second.lines[-1] == "line 60"
    assert second.truncated == [30]


# -- the notification stream ----------------------------------------------------------------


class Listener:
    """A notification stream of one user, collecting what it hears."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.heard: list[dict[str, Any]] = []
        self.ready: dict[str, Any] | None = None

    @classmethod
    async def open(cls, server: str, token: str, since: int | None = None) -> Listener:
        query = "" if since is None else f"?since={since}"
        socket = await connect(
            f"ws://{server}/ws/notifications{query}",
            subprotocols=bearer_protocols(token),
            open_timeout=10,
        )
        listener = cls(socket)
        async with asyncio.timeout(10):
            while listener.ready is None:
                message = json.loads(await socket.recv())
                if message["type"] == "ready":
                    listener.ready = message
                else:
                    listener.heard.append(message)
        return listener

    async def until(self, run_id: str, status: str, timeout: float = 60) -> list[dict[str, Any]]:
        async with asyncio.timeout(timeout):
            while not any(m["run_id"] == run_id and m["status"] == status for m in self.heard):
                self.heard.append(json.loads(await self.socket.recv()))
        return [m for m in self.heard if m["run_id"] == run_id]

    async def quiet(self, seconds: float = 1.5) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    self.heard.append(json.loads(await self.socket.recv()))

    async def close(self) -> None:
        await self.socket.close()


async def test_notifications_bring_each_status_change_to_those_who_may_see_the_run(
    client: Any, tokens: TokenFactory, team: dict[str, Any], server: str, provider: Any
) -> None:
    provider.reset(RESOLVER_SCRIPT, delay=0.5)
    agent = await team["agent"]("issue_resolver", "notified")
    owner = await Listener.open(server, tokens.token(team["owner"]))
    viewer = await Listener.open(server, tokens.token(team["viewer"]))
    stranger = await Listener.open(server, tokens.token(uuid.uuid4()))
    try:
        run = await start(client, team, agent, **ISSUE)
        heard = await owner.until(run["id"], "completed")
        assert [m["status"] for m in heard] == ["pending", "running", "completed"]
        assert [m["id"] for m in heard] == sorted(m["id"] for m in heard)
        assert heard[-1]["agent_name"] == "notified"
        assert heard[-1]["project_id"] == str(team["project"])
        assert heard[-1]["duration_ms"] >= 0 and heard[-1]["at"]
        seen = await viewer.until(run["id"], "completed")
        assert [m["status"] for m in seen] == ["pending", "running", "completed"]
        await stranger.quiet()
        assert [m for m in stranger.heard if m["project_id"] == str(team["project"])] == []
    finally:
        for listener in (owner, viewer, stranger):
            await listener.close()


async def test_notifications_resume_after_a_cursor_without_loss_or_repeat(
    client: Any, tokens: TokenFactory, team: dict[str, Any], server: str, provider: Any
) -> None:
    provider.reset([*RESOLVER_SCRIPT, *RESOLVER_SCRIPT], delay=0.3)
    agent = await team["agent"]("issue_resolver", "resumed")
    token = tokens.token(team["owner"])
    first = await Listener.open(server, token)
    run = await start(client, team, agent, **ISSUE)
    heard = await first.until(run["id"], "pending")
    cursor = heard[0]["id"]
    await first.close()  # dropped while the run goes on
    await wait_run(client, team["headers"], run["id"], *TERMINAL)
    second_run = await start(client, team, agent, **ISSUE)
    await wait_run(client, team["headers"], second_run["id"], *TERMINAL)

    resumed = await Listener.open(server, token, since=cursor)
    try:
        mine = [m for m in resumed.heard if m["project_id"] == str(team["project"])]
        assert [(m["run_id"], m["status"]) for m in mine] == [
            (run["id"], "running"),
            (run["id"], "completed"),
            (second_run["id"], "pending"),
            (second_run["id"], "running"),
            (second_run["id"], "completed"),
        ]
        ids = [m["id"] for m in resumed.heard]
        assert ids == sorted(set(ids)) and all(i > cursor for i in ids)
        assert resumed.ready is not None and resumed.ready["cursor"] == ids[-1]
    finally:
        await resumed.close()


async def test_a_fresh_notification_stream_starts_with_the_latest_changes(
    client: Any, tokens: TokenFactory, team: dict[str, Any], server: str
) -> None:
    agent = await team["agent"]("code_analyzer", "latest")
    run = await start(client, team, agent)
    await wait_run(client, team["headers"], run["id"], *TERMINAL)
    listener = await Listener.open(server, tokens.token(team["viewer"]))
    try:
        statuses = [m["status"] for m in listener.heard if m["run_id"] == run["id"]]
        assert statuses == ["pending", "running", "completed"]
        assert listener.ready is not None
        assert listener.ready["cursor"] >= max(m["id"] for m in listener.heard)
    finally:
        await listener.close()


async def test_a_member_removed_stops_hearing_of_the_projects_runs(
    client: Any,
    tokens: TokenFactory,
    team: dict[str, Any],
    server: str,
    publish: Any,
    projects: Any,
) -> None:
    agent = await team["agent"]("code_analyzer", "removal")
    viewer = await Listener.open(server, tokens.token(team["viewer"]))
    try:
        await publish(
            "projects.member.removed",
            {"project_id": str(team["project"]), "user_id": str(team["viewer"])},
        )
        url = f"/api/v1/agents/projects/{team['project']}/runs"

        async def gone() -> bool:
            response = await client.get(url, headers=tokens.headers(team["viewer"]))
            return response.status_code == 404

        await eventually(gone, timeout=15)
        run = await start(client, team, agent)
        await wait_run(client, team["headers"], run["id"], *TERMINAL)
        await viewer.quiet()
        assert [m for m in viewer.heard if m["run_id"] == run["id"]] == []
    finally:
        await viewer.close()


async def test_notifications_refuse_a_missing_or_url_token_and_close_on_revocation(
    tokens: TokenFactory,
    team: dict[str, Any],
    server: str,
    revocations: Any,
    revocation_prefix: str,
) -> None:
    url = f"ws://{server}/ws/notifications"
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await connect(url, open_timeout=10)
    assert refused.value.response.status_code == 403
    token = tokens.token(team["owner"])
    with pytest.raises(websockets.exceptions.InvalidStatus) as in_url:
        await connect(f"{url}?access_token={token}", open_timeout=10)
    assert in_url.value.response.status_code == 403
    key = tokens.token(team["owner"], scopes=("projects:read",), api_key_id=str(uuid.uuid4()))
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await connect(url, subprotocols=bearer_protocols(key), open_timeout=10)

    sid = str(uuid.uuid4())
    listener = await Listener.open(server, tokens.token(team["owner"], sid=sid))
    assert listener.socket.subprotocol == "swe.v1"
    await revocations.set(revocation_prefix + REVOKED_SESSION_KEY.format(sid=sid), "1", ex=60)
    async with asyncio.timeout(15):
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            async for _ in listener.socket:
                pass
    assert (listener.socket.close_code, listener.socket.close_reason) == (
        4401,
        "credentials revoked",
    )


@pytest.mark.parametrize("since", ["-1", str(2**63), "x"])
async def test_notifications_with_an_unusable_cursor_close_as_a_policy_violation(
    tokens: TokenFactory, team: dict[str, Any], server: str, since: str
) -> None:
    token = tokens.token(team["owner"])
    with pytest.raises(websockets.exceptions.ConnectionClosedError) as closed:
        async with connect(
            f"ws://{server}/ws/notifications?since={since}",
            subprotocols=bearer_protocols(token),
            open_timeout=10,
        ) as socket:
            await socket.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008


# -- a delivery's notice ----------------------------------------------------------------------


async def _resolved_run(app: Any, team: dict[str, Any], agent_id: str) -> uuid.UUID:
    """A completed issue_resolver run whose result asks for a draft pull request (what the
    worker leaves behind), written as the worker writes it."""
    from swe_agents.models import Run

    run_id = uuid.uuid4()
    request = {
        "status": "requested",
        "branch": "agent/issue-1234abcd-5678ef90",
        "base_ref": "main",
        "base_commit": "a" * 40,
        "title": "Resolve: Add subtraction",
        "files": {"app/clean.py": "def sub(a, b):\n    return a - b\n"},
    }
    now = datetime.now(UTC)
    async with app.state.db.transaction() as session:
        session.add(
            Run(
                id=run_id,
                agent_id=uuid.UUID(agent_id),
                project_id=team["project"],
                agent_type="issue_resolver",
                status="completed",
                trigger={"kind": "issue", "ref": "main"},
                config={"open_pull_request": True},
                result={"resolved": True, "summary": "patch", "pull_request": request},
                timeout_seconds=60,
                attempts=1,
                started_at=now - timedelta(seconds=30),
                finished_at=now,
                duration_ms=30_000,
            )
        )
    return run_id


async def test_a_recorded_delivery_tells_watchers_once_after_its_commit_never_on_rollback(
    app: Any,
    settings: Any,
    server: str,
    tokens: TokenFactory,
    team: dict[str, Any],
    publish: Any,
) -> None:
    import redis.asyncio as aioredis

    from swe_agents import handlers, live
    from swe_agents.models import RunNotification
    from swe_common.db import after_commit_settled
    from swe_common.events import build_event

    resolver = await team["agent"]("issue_resolver", "resolver")
    run_id = await _resolved_run(app, team, resolver)
    url = "https://github.com/acme/widgets/pull/17"
    data = {
        "run_id": str(run_id),
        "project_id": str(team["project"]),
        "issue_id": str(uuid.uuid4()),
        "pull_request_id": str(uuid.uuid4()),
        "number": 17,
        "url": url,
        "branch": "agent/issue-1234abcd-5678ef90",
    }
    redis = aioredis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    wakes = redis.pubsub()
    await wakes.subscribe(live.notifications_channel(settings.redis_prefix))
    listener = await Listener.open(server, tokens.token(team["owner"]))

    async def heard_wakes(seconds: float) -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            message = await wakes.get_message(ignore_subscribe_messages=True, timeout=left)
            if message is not None:
                got.append(json.loads(message["data"]))
        return [m for m in got if m["run_id"] == str(run_id)]

    async def rows() -> list[RunNotification]:
        async with app.state.db.sessionmaker() as session:
            found = await session.scalars(
                sa.select(RunNotification).where(RunNotification.run_id == run_id)
            )
            return list(found.all())

    try:
        # A handling whose transaction rolls back (a later event of its batch failed): no
        # row, no wake-up, nothing recorded in the run.
        handler = handlers.delivery_handlers(settings, lambda: app.state.redis)
        event = build_event(source="/swe/issues", type_="issues.resolution.delivered", data=data)
        async with app.state.db.sessionmaker() as session:
            await handler["issues.resolution.delivered"](session, event)
            await session.rollback()
        await after_commit_settled()
        assert await heard_wakes(1.0) == []
        assert await rows() == []

        # The event through the consumer, twice with one id (a redelivery): one notice.
        event_id = await publish("issues.resolution.delivered", data)
        await publish("issues.resolution.delivered", data, event_id=event_id)
        heard = await listener.until(str(run_id), "completed", timeout=15)
        await listener.quiet(2.0)
        wakes_heard = await heard_wakes(1.0)
        notices = [m for m in listener.heard if m["run_id"] == str(run_id)]
        assert [(m["type"], m["kind"], m["delivery"]) for m in notices] == [
            (
                "delivery",
                "delivery",
                {
                    "status": "opened",
                    "number": 17,
                    "url": url,
                    "error": None,
                    "github_status": None,
                },
            )
        ], heard
        # The run's status is what it was: the notice is not a second completion.
        assert notices[0]["status"] == "completed" and notices[0]["agent_name"] == "resolver"
        assert len(wakes_heard) == 1
        assert [(r.status, r.payload["kind"]) for r in await rows()] == [("completed", "delivery")]
        run = await app.state.client.get(f"/api/v1/agents/runs/{run_id}", headers=team["headers"])
        assert run.json()["result"]["pull_request"]["url"] == url

        # The same outcome again under another id (the issues service answering a redelivered
        # run.completed): the run already holds it, nobody hears of it twice.
        await publish("issues.resolution.delivered", data)
        await listener.quiet(2.0)
        assert len([m for m in listener.heard if m["run_id"] == str(run_id)]) == 1
        assert len(await rows()) == 1

        # A failure after all is news: a second notice, of the failure and its reason.
        reason = (
            "GitHub answered 422 to POST /repos/acme/widgets/git/refs: Reference already exists"
        )
        await publish(
            "issues.resolution.delivery_failed",
            {**data, "error": reason, "github_status": 422},
        )
        async with asyncio.timeout(15):
            while len([m for m in listener.heard if m["run_id"] == str(run_id)]) < 2:
                listener.heard.append(json.loads(await listener.socket.recv()))
        failed = [m for m in listener.heard if m["run_id"] == str(run_id)][-1]
        assert failed["type"] == "delivery" and failed["delivery"]["status"] == "failed"
        assert failed["delivery"]["error"] == reason and failed["delivery"]["github_status"] == 422
    finally:
        await listener.close()
        await wakes.aclose()
        await redis.aclose()
