"""Real servers for the gateway's tests: upstream instances, a fake auth, JWKS, gateways."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import tomllib
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import WSMsgType, web

from swe_common.testing import TokenFactory, free_port, served
from swe_gateway.config import PACKAGED_ROUTES


def b64url(number: int) -> str:
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).rstrip(b"=").decode()


def jwks_of(factory: TokenFactory) -> dict[str, Any]:
    numbers = factory.private_key.public_key().public_numbers()
    return {
        "keys": [
            {
                "kty": "EC",
                "crv": "P-256",
                "x": b64url(numbers.x),
                "y": b64url(numbers.y),
                "kid": factory.kid,
                "use": "sig",
                "alg": "ES256",
            }
        ]
    }


class Served:
    """An aiohttp app served on a free port (``swe_common.testing.served``) until ``stop``."""

    url: str = ""
    _serving: AsyncExitStack | None = None

    async def serve(self, app: web.Application) -> None:
        self._serving = AsyncExitStack()
        self.url = await self._serving.enter_async_context(served(app))

    async def stop(self) -> None:
        if self._serving is not None:
            await self._serving.aclose()
            self._serving = None


@dataclass
class Upstream(Served):
    """One upstream instance: echoes what it received, and behaves as the test tells it."""

    name: str
    status: int = 200  # what /api/v1/*/status answers
    ready: int = 200  # what /health/ready answers
    hits: Counter[str] = field(default_factory=Counter)
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024**3)
        app.router.add_get("/health/ready", self.health)
        app.router.add_get("/health/detailed", self.detailed)
        app.router.add_get("/openapi.json", self.openapi)
        app.router.add_get("/ws/{tail:.*}", self.websocket)
        app.router.add_route("*", "/api/v1/{service}/status", self.fixed_status)
        app.router.add_get("/api/v1/{service}/dependency", self.dependency_failed)
        app.router.add_get("/api/v1/{service}/cookies", self.cookies)
        app.router.add_get("/api/v1/{service}/redirect", self.redirect)
        app.router.add_get("/api/v1/{service}/hop", self.hop)
        app.router.add_get("/api/v1/{service}/sleep", self.sleep)
        app.router.add_get("/api/v1/{service}/download", self.download)
        app.router.add_post("/api/v1/{service}/upload", self.upload)
        app.router.add_route("*", "/{tail:.*}", self.echo)
        return app

    async def health(self, request: web.Request) -> web.Response:
        self.hits[request.path] += 1
        return web.json_response({"status": "ok"}, status=self.ready)

    async def detailed(self, request: web.Request) -> web.Response:
        """A service's admin report, as swe_common.health_detailed shapes it (401 without a
        token; it says which token it was asked with)."""
        authorization = request.headers.get("Authorization")
        if not authorization:
            return web.json_response({"title": "Unauthorized"}, status=401)
        report = {"status": "ok", "service": self.name, "asked_with": authorization}
        return web.json_response(report)

    async def openapi(self, _: web.Request) -> web.Response:
        doc = {
            "openapi": "3.1.0",
            "info": {"title": self.name, "version": "1"},
            "paths": {
                f"/api/v1/{self.name.split('-')[0]}/things": {"get": {"responses": {"200": {}}}}
            },
            "components": {"schemas": {"Thing": {"type": "object", "title": self.name}}},
        }
        return web.json_response(doc)

    async def echo(self, request: web.Request) -> web.Response:
        self.hits[request.path] += 1
        body = await request.read()
        return web.json_response(
            {
                "instance": self.name,
                "method": request.method,
                "raw_path": request.raw_path,
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "body_length": len(body),
            },
            headers={"X-Instance": self.name},
        )

    async def fixed_status(self, request: web.Request) -> web.Response:
        self.hits[f"{request.method} {request.path}"] += 1
        return web.json_response(
            {"instance": self.name}, status=self.status, headers={"X-Instance": self.name}
        )

    async def dependency_failed(self, request: web.Request) -> web.Response:
        """What a service answers when GitHub failed for this one request (swe_common.errors)."""
        self.hits[request.path] += 1
        return web.json_response(
            {"instance": self.name},
            status=502,
            headers={"X-Instance": self.name, "X-Failure-Scope": "request"},
        )

    async def cookies(self, _: web.Request) -> web.Response:
        response = web.Response(status=302, headers={"Location": "/api/v1/echo/elsewhere?a=1"})
        response.headers.add("Set-Cookie", "session=abc; Path=/; HttpOnly")
        response.headers.add("Set-Cookie", "theme=dark; Path=/")
        return response

    async def redirect(self, request: web.Request) -> web.Response:
        """An absolute redirect, to ``?to=`` or else to this instance's own address (what a
        framework's trailing-slash redirect says)."""
        target = request.query.get("to", f"{self.url}/api/v1/echo/elsewhere?a=1#part")
        return web.Response(status=307, headers={"Location": target})

    async def hop(self, _: web.Request) -> web.Response:
        return web.Response(
            text="hop",
            headers={"Connection": "X-Upstream-Hop", "X-Upstream-Hop": "1", "X-Kept": "1"},
        )

    async def sleep(self, request: web.Request) -> web.Response:
        await asyncio.sleep(float(request.query["seconds"]))
        return web.json_response({"slept": True})

    async def download(self, request: web.Request) -> web.StreamResponse:
        size = int(request.query["bytes"])
        response = web.StreamResponse(headers={"Content-Length": str(size)})
        await response.prepare(request)
        chunk = b"x" * (1024 * 1024)
        sent = 0
        while sent < size:
            part = chunk[: min(len(chunk), size - sent)]
            await response.write(part)
            sent += len(part)
        await response.write_eof()
        return response

    async def upload(self, request: web.Request) -> web.Response:
        digest, size = hashlib.sha256(), 0
        async for chunk in request.content.iter_any():
            digest.update(chunk)
            size += len(chunk)
        return web.json_response({"size": size, "sha256": digest.hexdigest()})

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("chat",))
        await ws.prepare(request)
        await ws.send_json(
            {
                "authorization": request.headers.get("Authorization"),
                "query": request.query_string,
                "protocol": ws.ws_protocol,
            }
        )
        async for msg in ws:
            if msg.type is WSMsgType.TEXT:
                await ws.send_str("echo:" + msg.data)
            elif msg.type is WSMsgType.BINARY:
                await ws.send_bytes(msg.data)
        return ws

    async def start(self) -> Upstream:
        await self.serve(self.app())
        return self


@dataclass
class FakeAuth(Served):
    """The auth service's API-key exchange contract, minting real tokens."""

    tokens: TokenFactory
    keys: dict[str, str] = field(default_factory=dict)  # secret -> api key id
    exchanges: int = 0
    url: str = ""

    async def exchange(self, request: web.Request) -> web.Response:
        self.exchanges += 1
        key_id = self.keys.get(request.headers.get("X-API-Key", ""))
        if key_id is None:
            return web.json_response(
                {"type": "about:blank", "title": "Unauthorized", "status": 401},
                status=401,
                content_type="application/problem+json",
            )
        token = self.tokens.token(
            f"owner-{key_id}", roles=("user",), scopes=("projects:read",), api_key_id=key_id
        )
        return web.json_response({"access_token": token, "token_type": "bearer", "expires_in": 900})

    async def jwks(self, _: web.Request) -> web.Response:
        return web.json_response(jwks_of(self.tokens))

    async def login(self, _: web.Request) -> web.Response:
        return web.json_response({"logged_in": True})

    async def health(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def start(self) -> FakeAuth:
        app = web.Application()
        app.router.add_post("/api/v1/auth/api-keys/exchange", self.exchange)
        app.router.add_get("/api/v1/auth/.well-known/jwks.json", self.jwks)
        app.router.add_post("/api/v1/auth/login", self.login)
        app.router.add_get("/health/ready", self.health)
        await self.serve(app)
        return self

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/api/v1/auth/.well-known/jwks.json"


class GatewayProcess:
    """``uvicorn --factory swe_gateway.main:create_app`` in a subprocess on a free port."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.metrics_port = free_port()
        self.metrics_url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        self.env = {
            **os.environ,
            **env,
            "GATEWAY_PORT": str(self.port),
            "GATEWAY_METRICS_PORT": str(self.metrics_port),
            "PYTHONUNBUFFERED": "1",
        }
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def spawn(self) -> GatewayProcess:
        command = [sys.executable, "-m", "swe_gateway"]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(command, env=self.env, stdout=log, stderr=log)
        return self

    async def start(self) -> GatewayProcess:
        """Wait until the spawned gateway answers /health/live."""
        assert self.process is not None
        deadline = time.monotonic() + 240  # imports alone take minutes on a loaded machine
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"gateway exited:\n{self.log_path.read_text()[-3000:]}")
                try:
                    if (await client.get(f"{self.url}/health/live")).status_code == 200:
                        return self
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"gateway not live:\n{self.log_path.read_text()[-3000:]}")

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# The packaged GitHub webhook budget per address, made small enough for a test to spend.
WEBHOOK_LIMIT = 40
# ... refilled over an hour, not a minute: on a loaded machine a test spending it (45 requests)
# could take longer than one refill (1.5 s at 40 a minute) and count one refusal too few.
WEBHOOK_PERIOD = 3600


def routes_toml(services: dict[str, list[str]], timeouts: dict[str, float] | None = None) -> str:
    """The test routing table: one route prefix per test service (``timeouts`` per service)."""
    # The packaged public paths, route limits and body limits, plus a test-only public prefix
    # and a path that takes large uploads.
    packaged = tomllib.loads(PACKAGED_ROUTES.read_text())
    lines = [f"public = {json.dumps([*packaged['public'], '/api/v1/open/*'])}"]
    uploads = {"name": "uploads", "paths": ["/api/v1/echo/upload"], "max_bytes": 2**28}
    for item in [*packaged["body_limits"], uploads]:
        lines += [
            "[[body_limits]]",
            f'name = "{item["name"]}"',
            f"paths = {json.dumps(item['paths'])}",
            f"max_bytes = {item['max_bytes']}",
        ]
    for item in packaged["limits"]:
        limit, period = item["limit"], item.get("period", 60)
        if item["name"] == "github-webhook":
            limit, period = WEBHOOK_LIMIT, WEBHOOK_PERIOD
        lines += [
            "[[limits]]",
            f'name = "{item["name"]}"',
            f"paths = {json.dumps(item['paths'])}",
            f"limit = {limit}",
            f"period = {period}",
            f"replaces_caller_limit = {json.dumps(item.get('replaces_caller_limit', False))}",
            f"per = {json.dumps(item.get('per', 'address'))}",
        ]
        if "methods" in item:
            lines.append(f"methods = {json.dumps(item['methods'])}")
    for name, urls in services.items():
        lines += [f"[services.{name}]", f"instances = {json.dumps(urls)}"]
    for name in services:
        lines += ["[[routes]]", f'prefix = "/api/v1/{name}"', f'service = "{name}"']
        if timeouts and name in timeouts:
            lines.append(f"timeout = {timeouts[name]}")
    lines += [
        '[[routes]]\nprefix = "/api/v1/open"\nservice = "echo"',
        '[[routes]]\nprefix = "/api/v1/projects"\nservice = "echo"',
        # The expensive routes' per-caller limits (agent starts, exports, GitHub syncs).
        '[[routes]]\nprefix = "/api/v1/agents"\nservice = "echo"',
        '[[routes]]\nprefix = "/api/v1/analytics"\nservice = "echo"',
        '[[routes]]\nprefix = "/api/v1/issues"\nservice = "echo"',
        '[[routes]]\nprefix = "/ws"\nservice = "echo"',
        '[[routes]]\nprefix = "/api/v1/slow"\nservice = "echo"\ntimeout = 0.5',
    ]
    return "\n".join(lines) + "\n"
