"""HTTP routes of agents and runs under /api/v1/agents."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Response, WebSocket, status
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import StringConstraints
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from swe_agents import live, streams
from swe_agents.agents import repository, service
from swe_agents.agents.schemas import (
    AgentCreate,
    AgentOut,
    AgentType,
    AgentUpdate,
    ProjectRunOut,
    RunCancel,
    RunDetailOut,
    RunDiffOut,
    RunLogOut,
    RunLogPage,
    RunOut,
    RunSourceOut,
    RunStart,
)
from swe_agents.analysis import exports
from swe_agents.deps import (
    DatabaseDep,
    ProjectLookupDep,
    SettingsDep,
    TokenVerifierDep,
)
from swe_agents.models import Agent, Run
from swe_agents.settings import Settings
from swe_common.deps import RedisDep, SessionDep
from swe_common.errors import Conflict, Forbidden, NotFound
from swe_common.pagination import Page, PageQuery, page_of, paginate
from swe_common.permissions import Permission
from swe_common.security import (
    REVOKED_CLOSE_CODE,
    REVOKED_REASON,
    WS_PROTOCOL,
    CurrentPrincipal,
    InvalidToken,
    Principal,
    TokenVerifier,
    api_key_scope,
    bearer_token,
    require_permission,
    until_revoked,
    url_carries_token,
    websocket_subprotocol_token,
)
from swe_common.types import NonNegativeInt32, NulFree, PositiveInt32

router = APIRouter(prefix="/api/v1/agents", tags=["agents"], dependencies=[api_key_scope("agents")])

RUN_SORT = {"queued_at": Run.queued_at, "status": Run.status, "finished_at": Run.finished_at}
PROJECT_RUN_SORT = {**RUN_SORT, "started_at": Run.started_at, "duration_ms": Run.duration_ms}
RunStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
SourcePath = Annotated[str, StringConstraints(min_length=1, max_length=1000), NulFree()]


def _announce(settings: Settings, session: AsyncSession, redis: Redis, run: Run) -> None:
    live.announce_run(session, redis, settings.redis_prefix, service.run_payload(run))


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AgentOut)
async def create_agent(
    data: AgentCreate, session: SessionDep, principal: CurrentPrincipal, lookup: ProjectLookupDep
) -> Agent:
    return await service.create_agent(session, principal, data, lookup)


@router.get(
    "", response_model=Page[AgentOut], dependencies=[require_permission(Permission.AGENTS_READ)]
)
async def list_agents(
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageQuery,
    project_id: uuid.UUID | None = None,
    type: AgentType | None = None,
    status: Literal["active", "disabled"] | None = None,
) -> Page[Any]:
    return page_of(
        AgentOut,
        await repository.agents_page(
            session, principal, page, project_id=project_id, type_=type, status=status
        ),
    )


@router.get("/runs/{run_id}", response_model=RunDetailOut)
async def get_run(
    run_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal, settings: SettingsDep
) -> RunDetailOut:
    return await service.run_detail(session, settings, principal, run_id)


@router.get(
    "/projects/{project_id}/runs",
    response_model=Page[ProjectRunOut],
    summary="A project's runs (every agent's), newest first by default",
    dependencies=[require_permission(Permission.RUNS_READ)],
)
async def list_project_runs(
    project_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageQuery,
    status: RunStatus | None = None,
    agent_id: uuid.UUID | None = None,
) -> Page[Any]:
    await service.visible_project(session, principal, project_id)
    return await paginate(
        session,
        repository.project_runs_query(project_id, status=status, agent_id=agent_id),
        page,
        allowed_sort=PROJECT_RUN_SORT,
        default_sort=[Run.queued_at.desc(), Run.id],
        to_item=ProjectRunOut.model_validate,
    )


@router.get(
    "/runs/{run_id}/source",
    response_model=RunSourceOut,
    summary="The source lines kept around a finding of the run (its line ± 5)",
)
async def run_source(
    run_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    path: Annotated[SourcePath, Query(description="The finding's path, relative to the root")],
    line: Annotated[PositiveInt32, Query(description="The finding's line")],
) -> RunSourceOut:
    return await service.source_context(session, principal, run_id, path, line)


@router.post("/runs/{run_id}/cancel", response_model=RunOut, status_code=status.HTTP_202_ACCEPTED)
async def cancel_run(
    run_id: uuid.UUID,
    settings: SettingsDep,
    session: SessionDep,
    redis: RedisDep,
    principal: CurrentPrincipal,
) -> Run:
    run, notify = await service.cancel_run(session, principal, run_id)
    await session.flush()
    _after_cancel(settings, session, redis, run, notify)
    return run


def _after_cancel(
    settings: Settings, session: AsyncSession, redis: Redis, run: Run, notify: bool
) -> None:
    if notify:  # its worker hears it once the flag is committed
        live.publish_after_commit(
            session, redis, live.cancel_channel(settings.redis_prefix), {"run_id": str(run.id)}
        )
    _announce(settings, session, redis, run)


@router.get("/runs/{run_id}/logs", response_model=RunLogPage)
async def run_logs(
    run_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    since: Annotated[
        NonNegativeInt32, Query(description="Return lines after this sequence number")
    ] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> RunLogPage:
    run, _ = await service.visible_run(session, principal, run_id)
    lines = await repository.logs_since(session, run_id, since, limit)
    items = [RunLogOut.model_validate(line) for line in lines]
    return RunLogPage(
        items=items, next_since=items[-1].seq if items else since, run_status=run.status
    )


@router.get("/runs/{run_id}/sarif", response_class=JSONResponse)
async def run_sarif(
    run_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> JSONResponse:
    run = await _finished_run(session, principal, run_id)
    document = exports.sarif(
        run.agent_type, run.result or {}, run_id=str(run.id), agent_id=str(run.agent_id)
    )
    return JSONResponse(document, media_type="application/sarif+json")


@router.get("/runs/{run_id}/report", response_model=None)
async def run_report(
    run_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    format: Literal["json", "markdown"] = "json",
) -> Response:
    run = await _finished_run(session, principal, run_id)
    if format == "markdown":
        return PlainTextResponse(
            exports.markdown(run.agent_type, run.result or {}), media_type="text/markdown"
        )
    return JSONResponse(exports.json_report(service.run_payload(run), run.result or {}))


@router.get(
    "/runs/{run_id}/trajectory",
    response_model=None,
    summary="Every model call of a finished run: prompt, answer, tokens, cost, latency",
)
async def run_trajectory(
    run_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> JSONResponse:
    document = await service.run_trajectory(session, principal, run_id)
    return JSONResponse(
        document,
        headers={"Content-Disposition": f'attachment; filename="trajectory-{run_id}.json"'},
    )


@router.get(
    "/runs/{run_id}/diff",
    response_model=RunDiffOut,
    summary="The diff a pull request review looked at (files, hunks, lines; bounded)",
)
async def run_diff(
    run_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> RunDiffOut:
    return await service.run_diff(session, principal, run_id)


async def _finished_run(session: AsyncSession, principal: Principal, run_id: uuid.UUID) -> Run:
    run, _ = await service.visible_run(session, principal, run_id)
    if run.status != "completed" or run.result is None:
        raise Conflict(f"The run has no report (status {run.status})")
    return run


@router.get("/{agent_id}", response_model=AgentOut)
async def get_agent(
    agent_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> dict[str, Any]:
    return await service.read_agent(session, principal, agent_id)


@router.patch("/{agent_id}", response_model=AgentOut)
async def update_agent(
    agent_id: uuid.UUID, data: AgentUpdate, session: SessionDep, principal: CurrentPrincipal
) -> Agent:
    return await service.update_agent(session, principal, agent_id, data)


@router.delete("/{agent_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_agent(
    agent_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    await service.delete_agent(session, principal, agent_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{agent_id}/start", response_model=RunOut, status_code=status.HTTP_202_ACCEPTED)
async def start_run(
    agent_id: uuid.UUID,
    data: RunStart,
    settings: SettingsDep,
    session: SessionDep,
    redis: RedisDep,
    principal: CurrentPrincipal,
) -> Run:
    run = await service.start_run(session, settings, principal, agent_id, data)
    _announce(settings, session, redis, run)
    return run


@router.post(
    "/{agent_id}/cancel", response_model=list[RunOut], status_code=status.HTTP_202_ACCEPTED
)
async def cancel_agent_runs(
    agent_id: uuid.UUID,
    settings: SettingsDep,
    session: SessionDep,
    redis: RedisDep,
    principal: CurrentPrincipal,
    data: Annotated[RunCancel | None, Body()] = None,
) -> list[Run]:
    cancelled = await service.cancel_agent_runs(
        session, principal, agent_id, data.run_id if data else None
    )
    await session.flush()
    for run, notify in cancelled:
        _after_cancel(settings, session, redis, run, notify)
    return [run for run, _ in cancelled]


@router.get(
    "/{agent_id}/runs",
    response_model=Page[RunOut],
    dependencies=[require_permission(Permission.RUNS_READ)],
)
async def list_runs(
    agent_id: uuid.UUID,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageQuery,
    status: RunStatus | None = None,
) -> Page[Any]:
    agent, _ = await service.visible_agent(session, principal, agent_id)
    return await paginate(
        session,
        repository.runs_query(agent.id, status),
        page,
        allowed_sort=RUN_SORT,
        default_sort=[Run.queued_at.desc(), Run.id],
        to_item=RunOut.model_validate,
    )


# -- WebSockets -----------------------------------------------------------------------------------

ws_router = APIRouter(tags=["live"], dependencies=[api_key_scope("agents")])
# A close reason has at most 123 bytes.
WS_CREDENTIALS_REQUIRED = (
    "a valid access token is required (Authorization or subprotocol bearer.<token>)"
)


async def _ws_principal(websocket: WebSocket, verifier: TokenVerifier) -> Principal | None:
    """The caller of a WebSocket: ``Authorization: Bearer`` (the gateway sends it so) or the
    subprotocol ``bearer.<token>`` next to ``swe.v1``; never a token in the URL."""
    if url_carries_token(websocket.scope.get("query_string", b"")):
        return None
    token = bearer_token(websocket)
    if token is None:
        token, _ = websocket_subprotocol_token(websocket.scope.get("subprotocols", []))
    if not token:
        return None
    try:
        return await verifier.verify(token)
    except InvalidToken:
        return None


async def _serve(
    websocket: WebSocket,
    principal: Principal,
    pump: Callable[[Any], Coroutine[Any, Any, None]],
    watch: Callable[[Principal], asyncio.Task[None] | None],
) -> None:
    """Run ``pump`` until it ends, the client goes away or the caller's credentials are
    revoked (logout, a revoked session, a locked or disabled user): then close with 4401."""
    offered = websocket.scope.get("subprotocols", [])
    await websocket.accept(subprotocol=WS_PROTOCOL if WS_PROTOCOL in offered else None)

    async def send(message: dict[str, Any]) -> None:
        await websocket.send_json(message)

    async def until_disconnect() -> None:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = [asyncio.create_task(pump(send)), asyncio.create_task(until_disconnect())]
    revoked = watch(principal)
    if revoked is not None:
        tasks.append(revoked)
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    with contextlib.suppress(Exception):
        if revoked in done:
            await websocket.close(code=REVOKED_CLOSE_CODE, reason=REVOKED_REASON)
            return
        for task in done:
            task.result()
        await websocket.close()


async def get_revocation_watch(
    verifier: TokenVerifierDep, settings: SettingsDep
) -> Callable[[Principal], asyncio.Task[None] | None]:
    """Starts, for a caller, the task that ends when its credentials are revoked (None when
    this service checks no revocations)."""

    def watch(principal: Principal) -> asyncio.Task[None] | None:
        if verifier.is_revoked is None:
            return None
        every = settings.ws_revocation_check_seconds
        return asyncio.create_task(until_revoked(principal, verifier.is_revoked, every))

    return watch


RevocationWatch = Annotated[
    Callable[[Principal], asyncio.Task[None] | None], Depends(get_revocation_watch)
]


@ws_router.websocket("/ws/logs/{run_id}")
async def ws_logs(
    websocket: WebSocket,
    run_id: uuid.UUID,
    db: DatabaseDep,
    redis: RedisDep,
    settings: SettingsDep,
    verifier: TokenVerifierDep,
    watch: RevocationWatch,
    since: NonNegativeInt32 = 0,
) -> None:
    principal = await _ws_principal(websocket, verifier)
    if principal is None:
        await websocket.close(code=4401, reason=WS_CREDENTIALS_REQUIRED)
        return
    async with db.sessionmaker() as session:
        try:
            await service.visible_run(session, principal, run_id)
        except NotFound:
            await websocket.close(code=4404, reason="run not found")
            return
        except Forbidden:
            await websocket.close(code=4403, reason="your role cannot read runs")
            return
    stream = streams.LogStream(db, redis, settings.redis_prefix, run_id, since)
    await _serve(websocket, principal, stream.pump, watch)


@ws_router.websocket("/ws/agents/{agent_id}")
async def ws_agent(
    websocket: WebSocket,
    agent_id: uuid.UUID,
    db: DatabaseDep,
    redis: RedisDep,
    settings: SettingsDep,
    verifier: TokenVerifierDep,
    watch: RevocationWatch,
) -> None:
    principal = await _ws_principal(websocket, verifier)
    if principal is None:
        await websocket.close(code=4401, reason=WS_CREDENTIALS_REQUIRED)
        return
    async with db.sessionmaker() as session:
        try:
            await service.visible_agent(session, principal, agent_id)
        except NotFound:
            await websocket.close(code=4404, reason="agent not found")
            return
        except Forbidden:
            await websocket.close(code=4403, reason="your role cannot read agents")
            return

    async def pump(send: Any) -> None:
        await streams.agent_stream(db, redis, settings.redis_prefix, agent_id, send)

    await _serve(websocket, principal, pump, watch)


@ws_router.websocket("/ws/notifications")
async def ws_notifications(
    websocket: WebSocket,
    db: DatabaseDep,
    redis: RedisDep,
    settings: SettingsDep,
    verifier: TokenVerifierDep,
    watch: RevocationWatch,
    since: Annotated[int | None, Query(ge=0, le=2**63 - 1)] = None,
) -> None:
    """Every run status change in the projects the caller may see (as the REST API decides,
    at each change), each ``{"type": "run", "id": <cursor>, ...}``; ``?since=<id>`` resumes
    after the last one kept, without ``since`` the latest few come first. Then
    ``{"type": "ready", "cursor": <id>}`` and the changes as they happen."""
    principal = await _ws_principal(websocket, verifier)
    if principal is None:
        await websocket.close(code=4401, reason=WS_CREDENTIALS_REQUIRED)
        return
    stream = streams.NotificationStream(db, redis, settings.redis_prefix, principal, since)
    await _serve(websocket, principal, stream.pump, watch)
