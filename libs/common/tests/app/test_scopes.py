"""API-key scopes: one guard per service router derives read/write from the method; user
tokens pass; a missing scope is a 403 problem naming it; no route can be left unguarded."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import APIRouter, FastAPI, WebSocket

from swe_common.errors import install_error_handlers
from swe_common.security import CurrentPrincipal, api_key_scope
from swe_common.testing import TokenFactory, unscoped_routes

FACTORY = TokenFactory()


def _app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = FACTORY.verifier()
    issues = APIRouter(prefix="/issues", dependencies=[api_key_scope("issues")])
    lookup = APIRouter(
        prefix="/projects", dependencies=[api_key_scope("projects", read_also=("issues",))]
    )
    account = APIRouter(prefix="/account", dependencies=[api_key_scope(None)])
    admin = APIRouter(prefix="/admin", dependencies=[api_key_scope("gateway", level="admin")])

    @issues.get("")
    async def read(principal: CurrentPrincipal) -> dict[str, bool]:
        return {"admin": principal.is_admin}

    @issues.post("")
    async def write(principal: CurrentPrincipal) -> dict[str, bool]:
        return {"admin": principal.is_admin}

    @issues.websocket("/ws")
    async def stream(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"ok": True})
        await websocket.close()

    @lookup.get("/{pid}")
    async def project(pid: str, principal: CurrentPrincipal) -> dict[str, str]:
        return {"id": pid}

    @lookup.delete("/{pid}")
    async def drop(pid: str, principal: CurrentPrincipal) -> dict[str, str]:
        return {"id": pid}

    @account.get("")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"sub": principal.subject}

    @account.post("/login")
    async def login() -> dict[str, str]:
        return {"public": "yes"}

    @admin.get("")
    async def status(principal: CurrentPrincipal) -> dict[str, str]:
        return {"ok": "yes"}

    for router in (issues, lookup, account, admin):
        app.include_router(router)
    return app


@pytest.fixture
async def client():
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def key(*scopes: str, roles: tuple[str, ...] = ("user",)) -> dict[str, str]:
    return FACTORY.headers(scopes=scopes, roles=roles, api_key_id=str(uuid.uuid4()))


@pytest.mark.parametrize(
    ("scopes", "method", "expected"),
    [
        (("issues:read",), "GET", 200),
        (("issues:write",), "GET", 200),
        (("issues:admin",), "GET", 200),
        (("projects:write",), "GET", 403),
        ((), "GET", 403),
        (("issues:write",), "POST", 200),
        (("issues:admin",), "POST", 200),
        (("issues:read",), "POST", 403),
        (("projects:write", "agents:admin"), "POST", 403),
    ],
)
async def test_an_api_key_needs_its_familys_scope_read_for_get_write_otherwise(
    client, scopes, method, expected
):
    response = await client.request(method, "/issues", headers=key(*scopes))
    assert response.status_code == expected, response.text


async def test_a_missing_scope_is_a_403_problem_naming_it(client):
    response = await client.post("/issues", headers=key("issues:read"))
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["missing_scope"] == "issues:write" and "issues:write" in body["detail"]


async def test_user_tokens_are_not_limited_by_scopes(client):
    for method in ("GET", "POST"):
        response = await client.request(method, "/issues", headers=FACTORY.headers())
        assert response.status_code == 200


async def test_an_admins_key_acts_as_admin_only_with_the_familys_admin_scope(client):
    narrowed = await client.post("/issues", headers=key("issues:write", roles=("admin",)))
    full = await client.post("/issues", headers=key("issues:admin", roles=("admin",)))
    assert narrowed.json() == {"admin": False}
    assert full.json() == {"admin": True}


async def test_an_admin_level_router_needs_the_admin_scope_even_to_read(client):
    headers = key("gateway:write", roles=("admin",))
    assert (await client.get("/admin", headers=headers)).status_code == 403
    admin = key("gateway:admin", roles=("admin",))
    assert (await client.get("/admin", headers=admin)).status_code == 200


async def test_api_keys_are_refused_on_account_routes_whatever_their_scopes(client):
    every = key("issues:admin", "projects:admin", "agents:admin", "analytics:admin")
    response = await client.get("/account", headers=every)
    assert response.status_code == 403
    assert "API keys cannot be used here" in response.json()["detail"]
    assert (await client.get("/account", headers=FACTORY.headers())).status_code == 200


async def test_public_routes_stay_public_under_the_guard(client):
    assert (await client.post("/account/login")).status_code == 200


async def test_one_project_is_readable_with_a_dependent_familys_read_scope_only(client):
    assert (await client.get("/projects/p1", headers=key("issues:read"))).status_code == 200
    assert (await client.delete("/projects/p1", headers=key("issues:write"))).status_code == 403


def test_a_websocket_needs_the_read_scope():
    from starlette.testclient import TestClient
    from starlette.websockets import WebSocketDisconnect

    with TestClient(_app()) as http:
        token = FACTORY.token(scopes=("issues:read",), api_key_id="k1")
        with http.websocket_connect("/issues/ws", subprotocols=["swe.v1", f"bearer.{token}"]) as ws:
            assert ws.receive_json() == {"ok": True}
        other = FACTORY.token(scopes=("projects:read",), api_key_id="k2")
        headers = {"Authorization": f"Bearer {other}"}
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            http.websocket_connect("/issues/ws", headers=headers),
        ):
            pass
        assert refused.value.code == 4403
        assert refused.value.reason == "This API key lacks the scope issues:read"


def test_every_route_of_an_app_is_checked_for_its_guard():
    app = _app()
    bare = APIRouter(prefix="/bare")

    @bare.get("")
    async def forgotten() -> None:
        return None

    app.include_router(bare)
    assert unscoped_routes(app) == ["GET /bare"]


def test_a_service_app_with_an_unguarded_router_is_refused_at_build_time():
    from swe_common.app import ServiceSpec, create_service_app
    from swe_common.settings import ServiceSettings

    bare = APIRouter(prefix="/bare")

    @bare.get("")
    async def forgotten() -> None:
        return None

    settings = ServiceSettings(service_name="guardtest")
    with pytest.raises(RuntimeError, match="/bare"):
        create_service_app(ServiceSpec(settings=settings, title="t", routers=[bare]))


async def test_a_token_is_verified_once_per_request():
    app = _app()
    verifier = app.state.token_verifier
    calls = []
    original = verifier.verify

    async def counting(token: str):
        calls.append(token)
        return await original(token)

    verifier.verify = counting
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for headers in (FACTORY.headers(), key("issues:read")):
            calls.clear()
            assert (await http.get("/issues", headers=headers)).status_code == 200
            assert len(calls) == 1
