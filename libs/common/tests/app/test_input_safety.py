"""No input reaches PostgreSQL in a shape it refuses: a NUL character anywhere in a request or
an integer wider than its column is a 422 problem naming the field, never a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import pytest
import sqlalchemy as sa
from fastapi import APIRouter, FastAPI, Query, WebSocket
from pydantic import BaseModel, Field
from starlette.websockets import WebSocketDisconnect

from swe_common.app import ServiceSpec, create_service_app
from swe_common.deps import SessionDep
from swe_common.fuzz import NUL_TEXT, fuzz, targeted_probes
from swe_common.security import api_key_scope
from swe_common.settings import ServiceSettings
from swe_common.testing import bodies_not_request_models, running_app, unbounded_request_inputs
from swe_common.types import Body, Int64, Name, NonNegativeInt32, RequestModel

NUL = "\x00"


class NoteIn(RequestModel):
    title: Name = Field(min_length=1)
    body: Body = ""
    position: NonNegativeInt32 = 0
    total: Int64 = 0
    meta: dict[str, Any] = Field(default_factory=dict)


class Loose(BaseModel):
    name: str
    count: int
    note: Annotated[str, Field(max_length=10)] = ""


def safety_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/notes", dependencies=[api_key_scope("notes")])

    @router.post("")
    async def create_note(note: NoteIn, session: SessionDep) -> dict[str, Any]:
        # The values go to PostgreSQL as text, jsonb and integer, as a real insert's would.
        row = await session.execute(
            sa.text(
                "SELECT CAST(:t AS text), CAST(:b AS text), CAST(:p AS integer), CAST(:m AS jsonb)"
            ),
            {"t": note.title, "b": note.body, "p": note.position, "m": note.model_dump_json()},
        )
        return {"stored": list(row.one()[:3])}

    @router.get("")
    async def search_notes(
        session: SessionDep,
        # Deliberately a bare str: the NUL guard covers parameters a route forgot to type.
        q: Annotated[str | None, Query()] = None,
        since: Annotated[NonNegativeInt32, Query()] = 0,
    ) -> dict[str, Any]:
        found = await session.scalar(
            sa.text("SELECT CAST(:q AS text) || CAST(:since AS integer)"),
            {"q": q or "", "since": since},
        )
        return {"found": found}

    @router.get("/{name}")
    async def get_note(name: str, session: SessionDep) -> dict[str, Any]:
        return {"name": await session.scalar(sa.text("SELECT CAST(:n AS text)"), {"n": name})}

    @router.websocket("/ws")
    async def follow(websocket: WebSocket, since: NonNegativeInt32 = 0) -> None:
        await websocket.accept()
        await websocket.send_json({"since": since})
        await websocket.close()

    return router


def build_app(database_url: str) -> FastAPI:
    settings = ServiceSettings(service_name="safety", database_url=database_url)
    return create_service_app(
        ServiceSpec(
            settings=settings, title="safety", routers=[safety_router()], verify_tokens=False
        )
    )


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[Any]:
    async with running_app(build_app(database_url)) as client:
        yield client


def _fields(response: Any) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return [error["field"] for error in response.json()["errors"]]


async def test_nul_in_a_body_string_is_a_422_naming_the_field(client):
    response = await client.post("/api/v1/notes", json={"title": f"a{NUL}b"})
    assert _fields(response) == ["body.title"]
    assert "NUL" in response.json()["errors"][0]["message"]


async def test_nul_deep_in_free_form_json_is_a_422_naming_the_field_and_where(client):
    response = await client.post(
        "/api/v1/notes", json={"title": "ok", "meta": {"tags": ["fine", f"bad{NUL}"]}}
    )
    assert _fields(response) == ["body.meta"]
    assert "tags[1]" in response.json()["errors"][0]["message"]


async def test_a_lone_surrogate_in_free_form_json_is_a_422_not_a_jsonb_error(client):
    raw = b'{"title": "ok", "meta": {"note": "\\ud800"}}'
    response = await client.post(
        "/api/v1/notes", content=raw, headers={"Content-Type": "application/json"}
    )
    assert _fields(response) == ["body.meta"]


async def test_nul_in_a_json_key_is_refused(client):
    response = await client.post("/api/v1/notes", json={"title": "ok", "meta": {f"k{NUL}": 1}})
    assert _fields(response) == ["body.meta"]


async def test_text_without_nul_is_stored(client):
    response = await client.post("/api/v1/notes", json={"title": "ünï ✓", "body": "x" * 1000})
    assert response.status_code == 200, response.text
    assert response.json()["stored"] == ["ünï ✓", "x" * 1000, 0]


async def test_text_over_its_cap_is_a_422(client):
    assert _fields(await client.post("/api/v1/notes", json={"title": "x" * 201})) == ["body.title"]


@pytest.mark.parametrize("value", [2**31, 2**63, -1, -(2**63) - 1])
async def test_an_integer_beyond_its_column_is_a_422_naming_the_field(client, value):
    response = await client.post("/api/v1/notes", json={"title": "ok", "position": value})
    assert _fields(response) == ["body.position"]


async def test_the_largest_integer_of_the_column_is_accepted(client):
    response = await client.post("/api/v1/notes", json={"title": "ok", "position": 2**31 - 1})
    assert response.status_code == 200, response.text


async def test_an_out_of_range_query_integer_is_a_422_naming_the_parameter(client):
    response = await client.get("/api/v1/notes", params={"since": 2**31})
    assert _fields(response) == ["query.since"]


async def test_nul_in_a_query_parameter_is_a_422_even_when_the_route_did_not_type_it(client):
    response = await client.get("/api/v1/notes", params={"q": f"a{NUL}"})
    assert _fields(response) == ["query.q"]
    assert (await client.get("/api/v1/notes?q=a%00")).json()["errors"][0]["field"] == "query.q"


async def test_nul_in_a_path_segment_is_a_422(client):
    assert _fields(await client.get("/api/v1/notes/a%00b")) == ["path"]


async def test_nul_in_a_header_value_is_a_422_naming_the_header(client):
    response = await client.get("/api/v1/notes", headers={"User-Agent": f"x{NUL}y"})
    assert _fields(response) == ["header.user-agent"]


async def test_nul_spelled_as_an_octal_escape_in_a_quoted_cookie_is_a_422(client):
    response = await client.get("/api/v1/notes", headers={"Cookie": 'session="a\\000b"'})
    assert _fields(response) == ["cookie.session"]


async def test_a_clean_request_passes_the_guard(client):
    response = await client.get("/api/v1/notes", params={"q": "ok%", "since": 5})
    assert response.json() == {"found": "ok%5"}


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_websocket_with_an_out_of_range_integer_is_closed_as_a_policy_violation(database_url):
    from starlette.testclient import TestClient

    with (
        TestClient(build_app(database_url)) as client,
        client.websocket_connect(f"/api/v1/notes/ws?since={2**31}") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_text()
    assert closed.value.code == 1008
    assert "since" in closed.value.reason


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_a_websocket_with_nul_in_its_query_is_closed_as_a_policy_violation(database_url):
    from starlette.testclient import TestClient

    with (
        TestClient(build_app(database_url)) as client,
        client.websocket_connect("/api/v1/notes/ws?since=1%00") as ws,
        pytest.raises(WebSocketDisconnect) as closed,
    ):
        ws.receive_text()
    assert closed.value.code == 1008
    assert closed.value.reason.startswith("query.since")


def test_the_guard_flags_request_inputs_without_the_common_types():
    router = APIRouter()

    @router.post("/loose")
    async def loose(body: Loose, q: str = "", page: int = 0) -> None: ...

    @router.post("/tight")
    async def tight(body: NoteIn, q: Annotated[Name, Query()] = "", page: Int64 = 0) -> None: ...

    app = FastAPI()
    app.include_router(router)
    found = unbounded_request_inputs(app.openapi())
    assert all("/loose" in line for line in found)  # Int64 bounds, written as floats, pass
    assert {line.split(": ", 1)[0].rsplit(" ", 1)[1] for line in found} == {
        "query.q",
        "query.page",
        "body(application/json).name",
        "body(application/json).count",
        "body(application/json).note",
    }
    assert bodies_not_request_models(app) == ["['POST'] /loose: Loose"]


# -- the fuzz harness (swe_common.fuzz) ----------------------------------------------------


def test_the_fuzz_sends_nul_in_every_string_input_and_integers_beyond_int32_and_int64():
    app = FastAPI()
    app.include_router(safety_router())
    notes = {probe.note for probe in targeted_probes(app.openapi())}
    for field in ("body.title", "body.body", "query.q", "path.name"):
        assert f"{field}={NUL_TEXT!r}" in notes, field
    for field in ("body.position", "query.since", "body.total"):
        for value in (2**31, 2**63, -(2**63) - 1):
            assert f"{field}={value!r}" in notes, (field, value)
    refused = {probe.note for probe in targeted_probes(app.openapi()) if probe.must_refuse}
    assert f"body.total={2**63!r}" in refused
    assert f"body.total={2**31!r}" not in refused


async def test_the_fuzz_reports_an_integer_that_overflows_its_column(database_url):
    router = APIRouter(dependencies=[api_key_scope("loose")])

    @router.get("/api/v1/loose")
    async def loose(session: SessionDep, n: int = 0) -> dict[str, Any]:
        # An unbounded integer reaching an integer column: PostgreSQL refuses 2**31.
        return {"n": await session.scalar(sa.text("SELECT CAST(:n AS integer)"), {"n": n})}

    settings = ServiceSettings(service_name="loose", database_url=database_url)
    app = create_service_app(
        ServiceSpec(settings=settings, title="loose", routers=[router], verify_tokens=False)
    )
    async with running_app(app) as client:
        failures = await fuzz(client, app.openapi(), {"anyone": {}}, examples=2)
    assert any(
        line.startswith("[anyone] 500 GET /api/v1/loose query.n=2147483648") for line in failures
    )
