"""WebSocket live streams through a second API instance on a real port: replay, then live;
every log line once and in order; authenticated and scoped like the HTTP API."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import websockets
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from swe_agents.runlog import RunLogger
from swe_common.security import REVOKED_SESSION_KEY, TOKENS_NOT_BEFORE_KEY
from swe_common.testing import TokenFactory

from .conftest import bearer_protocols, wait_run
from .gitrepo import RESOLVER_SCRIPT

pytestmark = pytest.mark.usefixtures("worker")
ISSUE = {"issue": {"title": "Add subtraction", "description": "app/clean.py needs sub()"}}


@pytest.fixture
async def agent(client: Any, tokens: TokenFactory, projects: Any, planted: Path) -> dict[str, Any]:
    owner = uuid.uuid4()
    project = await projects.create(owner, f"file://{planted}")
    body = {"project_id": str(project), "name": "resolver", "type": "issue_resolver"}
    response = await client.post("/api/v1/agents", json=body, headers=tokens.headers(owner))
    return {**response.json(), "owner": owner, "headers": tokens.headers(owner)}


async def collect(url: str, **kwargs: Any) -> list[dict[str, Any]]:
    messages = []
    async with connect(url, open_timeout=10, **kwargs) as socket:
        async with asyncio.timeout(60):
            async for raw in socket:
                message = json.loads(raw)
                messages.append(message)
                if message["type"] == "end":
                    break
    return messages


async def test_log_stream_replays_then_follows_every_line_once_in_order(
    client: Any, tokens: TokenFactory, agent: dict[str, Any], server: str, provider: Any
) -> None:
    provider.reset(RESOLVER_SCRIPT, delay=1.5)
    run = (
        await client.post(
            f"/api/v1/agents/{agent['id']}/start", json=ISSUE, headers=agent["headers"]
        )
    ).json()
    await wait_run(client, agent["headers"], run["id"], "running")
    token = tokens.token(agent["owner"])
    messages = await collect(
        f"ws://{server}/ws/logs/{run['id']}", subprotocols=bearer_protocols(token)
    )
    lines = [m for m in messages if m["type"] == "log"]
    stored = (
        await client.get(f"/api/v1/agents/runs/{run['id']}/logs", headers=agent["headers"])
    ).json()["items"]
    assert (
        [m["seq"] for m in lines] == [s["seq"] for s in stored] == list(range(1, len(stored) + 1))
    )
    assert [m["message"] for m in lines] == [s["message"] for s in stored]
    assert messages[-1] == {"type": "end", "status": "completed", "last_seq": len(stored)}


async def test_log_stream_resumes_after_a_sequence_number(
    client: Any, tokens: TokenFactory, agent: dict[str, Any], server: str, provider: Any
) -> None:
    provider.reset(RESOLVER_SCRIPT)
    run = (
        await client.post(
            f"/api/v1/agents/{agent['id']}/start", json=ISSUE, headers=agent["headers"]
        )
    ).json()
    await wait_run(client, agent["headers"], run["id"], "completed")
    headers = {"Authorization": f"Bearer {tokens.token(agent['owner'])}"}
    messages = await collect(
        f"ws://{server}/ws/logs/{run['id']}?since=3", additional_headers=headers
    )
    assert next(m["seq"] for m in messages if m["type"] == "log") == 4


async def test_agent_stream_sends_each_status_change(
    client: Any, tokens: TokenFactory, agent: dict[str, Any], server: str, provider: Any
) -> None:
    provider.reset(RESOLVER_SCRIPT, delay=0.5)
    headers = {"Authorization": f"Bearer {tokens.token(agent['owner'])}"}
    async with connect(
        f"ws://{server}/ws/agents/{agent['id']}", additional_headers=headers, open_timeout=10
    ) as socket:
        async with asyncio.timeout(10):
            while json.loads(await socket.recv())["type"] != "ready":
                pass
        run = (
            await client.post(
                f"/api/v1/agents/{agent['id']}/start", json=ISSUE, headers=agent["headers"]
            )
        ).json()
        statuses: list[str] = []
        async with asyncio.timeout(60):
            while "completed" not in statuses and "failed" not in statuses:
                message = json.loads(await socket.recv())
                if message.get("run_id") == run["id"]:
                    statuses.append(message["status"])
    assert statuses == ["pending", "running", "completed"]


async def test_stream_without_a_token_is_refused(agent: dict[str, Any], server: str) -> None:
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await collect(f"ws://{server}/ws/agents/{agent['id']}")
    assert refused.value.response.status_code == 403


async def test_someone_elses_stream_is_refused(
    tokens: TokenFactory, agent: dict[str, Any], server: str
) -> None:
    stranger = tokens.token(uuid.uuid4())
    with pytest.raises(websockets.exceptions.InvalidStatus):
        await collect(
            f"ws://{server}/ws/agents/{agent['id']}", subprotocols=bearer_protocols(stranger)
        )


async def test_stream_answers_the_swe_subprotocol_never_the_token(
    tokens: TokenFactory, agent: dict[str, Any], server: str
) -> None:
    token = tokens.token(agent["owner"])
    async with connect(
        f"ws://{server}/ws/agents/{agent['id']}",
        subprotocols=bearer_protocols(token),
        open_timeout=10,
    ) as socket:
        assert socket.subprotocol == "swe.v1"
        assert json.loads(await socket.recv())["type"] in ("run", "ready")


async def test_a_token_in_the_url_is_refused(
    tokens: TokenFactory, agent: dict[str, Any], server: str
) -> None:
    token = tokens.token(agent["owner"])
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await collect(f"ws://{server}/ws/agents/{agent['id']}?access_token={token}")
    assert refused.value.response.status_code == 403


async def _ready_stream(server: str, agent: dict[str, Any], token: str) -> Any:
    socket = await connect(
        f"ws://{server}/ws/agents/{agent['id']}",
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=10,
    )
    async with asyncio.timeout(10):
        while json.loads(await socket.recv())["type"] != "ready":
            pass
    return socket


async def _closed_code(socket: Any, deadline: float = 15) -> tuple[int, str]:
    async with asyncio.timeout(deadline):
        with contextlib.suppress(websockets.exceptions.ConnectionClosed):
            async for _ in socket:
                pass
    assert socket.close_code is not None
    return socket.close_code, socket.close_reason


async def test_an_open_stream_closes_when_its_session_is_revoked(
    tokens: TokenFactory,
    agent: dict[str, Any],
    server: str,
    revocations: Any,
    revocation_prefix: str,
) -> None:
    sid = str(uuid.uuid4())
    socket = await _ready_stream(server, agent, tokens.token(agent["owner"], sid=sid))
    await revocations.set(revocation_prefix + REVOKED_SESSION_KEY.format(sid=sid), "1", ex=60)
    assert await _closed_code(socket) == (4401, "credentials revoked")


async def test_an_open_stream_closes_when_its_user_is_locked_out(
    tokens: TokenFactory,
    agent: dict[str, Any],
    server: str,
    revocations: Any,
    revocation_prefix: str,
) -> None:
    socket = await _ready_stream(server, agent, tokens.token(agent["owner"]))
    # What auth writes when an admin locks or disables the user: a cutoff after every token.
    cutoff = TOKENS_NOT_BEFORE_KEY.format(sub=agent["owner"])
    await revocations.set(revocation_prefix + cutoff, str(int(time.time()) + 1), ex=60)
    assert await _closed_code(socket) == (4401, "credentials revoked")


async def test_a_stream_needs_an_api_keys_agents_read_scope(
    tokens: TokenFactory, agent: dict[str, Any], server: str
) -> None:
    def key(*scopes: str) -> list[Subprotocol]:
        return bearer_protocols(
            tokens.token(agent["owner"], scopes=scopes, api_key_id=str(uuid.uuid4()))
        )

    url = f"ws://{server}/ws/agents/{agent['id']}"
    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        await collect(url, subprotocols=key("projects:admin", "issues:admin"))
    assert refused.value.response.status_code == 403
    async with connect(url, subprotocols=key("agents:read"), open_timeout=10) as socket:
        assert json.loads(await socket.recv())["type"] in ("run", "ready")


@pytest.mark.parametrize("since", [str(2**31), "-1", "1%00"])
async def test_log_stream_with_an_unusable_since_is_closed_as_a_policy_violation(
    tokens: TokenFactory, agent: dict[str, Any], server: str, since: str
) -> None:
    token = tokens.token(agent["owner"])
    url = f"ws://{server}/ws/logs/{uuid.uuid4()}?since={since}"
    with pytest.raises(websockets.exceptions.ConnectionClosedError) as closed:
        await collect(url, subprotocols=bearer_protocols(token))
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert closed.value.rcvd.reason.startswith("query.since")


async def test_run_logs_since_beyond_the_sequence_column_is_a_422_naming_it(
    client: Any, agent: dict[str, Any]
) -> None:
    response = await client.get(
        f"/api/v1/agents/runs/{uuid.uuid4()}/logs",
        params={"since": 2**31},
        headers=agent["headers"],
    )
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["query.since"]


async def test_lines_logged_at_once_are_stored_in_sequence_order(
    client: Any, agent: dict[str, Any], app: Any, engine: Any, provider: Any
) -> None:
    """A run's tools log concurrently; a reader (the stream's replay, a `since` cursor) that
    sees line n must already see every line before it, or it moves past one for good."""
    provider.reset(RESOLVER_SCRIPT)
    run = (
        await client.post(
            f"/api/v1/agents/{agent['id']}/start", json=ISSUE, headers=agent["headers"]
        )
    ).json()
    await wait_run(client, agent["headers"], run["id"], "completed")
    run_id = uuid.UUID(run["id"])
    state = app.state
    runlog = RunLogger(state.db, state.redis, state.settings.redis_prefix, run_id)
    await runlog("first line of a retry")
    first = runlog.seq
    assert first is not None

    seen_gaps: list[list[int]] = []

    async def read_while_writing(writing: asyncio.Future[Any]) -> None:
        while not writing.done():
            async with engine.connect() as connection:
                rows = await connection.execute(
                    sa.text("SELECT seq FROM agents.run_logs WHERE run_id = :r AND seq > :s"),
                    {"r": run_id, "s": first},
                )
                seqs = sorted(row[0] for row in rows)
            if seqs != list(range(first + 1, first + 1 + len(seqs))):
                seen_gaps.append(seqs)
            await asyncio.sleep(0)

    writing = asyncio.ensure_future(
        asyncio.gather(*(runlog(f"tool {i}: started") for i in range(60)))
    )
    await read_while_writing(writing)
    await writing
    assert seen_gaps == []
    assert runlog.seq == first + 60
