"""Helpers for tests against the real servers: a throwaway database, unique queue names, an
app or a raw TCP server served on a free port, polling with a deadline.

Tests never touch the ``swe`` database a running stack uses: each test session creates
``swe_test_<random>`` and drops it at the end.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from psycopg import sql

T = TypeVar("T")

ADMIN_DSN = os.environ.get("SWE_TEST_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def create_test_database(prefix: str = "swe_test") -> str:
    """Create an empty database and return its SQLAlchemy URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    host_part = ADMIN_DSN.split("://", 1)[1].rsplit("/", 1)[0]
    return f"postgresql+psycopg://{host_part}/{name}"


def drop_test_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
        conn.execute(drop.format(sql.Identifier(name)))


@contextmanager
def migrated_test_database(service_dir: Path, prefix: str = "swe_test") -> Iterator[str]:
    """A fresh database with ``service_dir``'s migrations applied, dropped afterwards."""
    from swe_common.migrations import upgrade_head

    url = create_test_database(prefix)
    try:
        upgrade_head(service_dir, url)
        yield url
    finally:
        drop_test_database(url)


# GitHub's published example webhook payloads (libs/common/tests/data/github-webhooks/README.md).
GITHUB_EXAMPLES = Path(__file__).resolve().parents[2] / "tests" / "data" / "github-webhooks"


def github_example(name: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of one of GitHub's example payloads, by ``<event>.<action>``, its issue or
    pull request changed by ``changes``."""
    payload: dict[str, Any] = json.loads((GITHUB_EXAMPLES / f"{name}.json").read_text("utf-8"))
    payload.get("issue", payload.get("pull_request", {})).update(changes)
    return payload


def github_merged_example(updated_at: str) -> dict[str, Any]:
    """No example merges a pull request: the closed one, as GitHub sends it when merged."""
    return github_example(
        "pull_request.closed",
        merged=True,
        merged_at=updated_at,
        merge_commit_sha="c4295bd74fb0f4fbb33a2b2ac5e2cbbc6e5a5d2c",
        updated_at=updated_at,
    )


def github_event_names() -> list[str]:
    """Every webhook event name GitHub documents (as listed by the examples' package)."""
    return json.loads((GITHUB_EXAMPLES / "event-names.json").read_text("utf-8"))  # type: ignore[no-any-return]


_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST_CHOSEN_PORT = 10_000
_handed_out: set[int] = set()


def _ephemeral_ports() -> range:
    try:
        low, high = (int(part) for part in _EPHEMERAL_RANGE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999  # Linux's default
    return range(low, high + 1)


def _bindable(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports on 127.0.0.1 that nothing listens on, for a server another
    process starts later (a service of the stack, a private Redis or RabbitMQ node, a proxy).

    Chosen below the kernel's ephemeral range on purpose: a port the kernel picks for ``bind(0)``
    comes from that range, which it also hands to outgoing connections, so between choosing it
    and the server's own bind any ``connect()`` on the machine (a broker starting, a pool
    opening) can take it and the server fails with EADDRINUSE. A port below the range is only
    ever taken by a listener that asks for it. Random, so concurrent test processes rarely
    pick the same one, and never the same one twice in this process."""
    ephemeral = _ephemeral_ports()
    candidates = range(_LOWEST_CHOSEN_PORT, ephemeral.start)
    if len(candidates) < 1000:  # an unusual kernel setting: fall back to the kernel's choice
        return [_kernel_chosen_port() for _ in range(count)]
    ports: list[int] = []
    for port in random.sample(candidates, len(candidates)):
        if len(ports) == count:
            break
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            ports.append(port)
    if len(ports) < count:
        raise RuntimeError(f"fewer than {count} free ports below {ephemeral.start}")
    return ports


def free_port() -> int:
    """One port, as ``free_ports`` chooses it."""
    return free_ports(1)[0]


def _kernel_chosen_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def machine_cpu_jiffies() -> tuple[int, int]:
    """(busy, total) CPU time of the whole machine, every core, in clock ticks, from
    ``/proc/stat``: busy is all but idle and iowait (guest time is counted in user time)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:9]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def unique_name(prefix: str) -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Poll ``probe`` until it returns a truthy value or raise when the deadline passes."""
    deadline = time.monotonic() + timeout
    last = await probe()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")
        await asyncio.sleep(interval)
        last = await probe()
    return last


@asynccontextmanager
async def served(app: Any, *, lifespan: bool = False) -> AsyncIterator[str]:
    """``app`` served over real HTTP on 127.0.0.1, on a port the OS picks (never a guessed free
    one another process could take first); yields the base URL, ``http://127.0.0.1:<port>``,
    and stops the server on exit. ``app`` is an ASGI app (run by uvicorn in this event loop
    with the services' HTTP protocol, its lifespan only when ``lifespan``) or an aiohttp
    ``web.Application`` (a fake of GitHub or of a model provider)."""
    from aiohttp import web

    if isinstance(app, web.Application):
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            yield f"http://127.0.0.1:{runner.addresses[0][1]}"
        finally:
            await runner.cleanup()
        return
    import uvicorn

    from swe_common.http_server import ServiceHttpProtocol

    config = uvicorn.Config(
        app,
        http=ServiceHttpProtocol,  # the protocol the services run under (swe-stack's --http)
        host="127.0.0.1",
        port=0,
        lifespan="on" if lifespan else "off",
        log_config=None,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():  # it could not start (its lifespan failed): say why, do not wait
            task.result()
            raise AssertionError("the server stopped before it started")
        return bool(server.started)

    try:
        await eventually(started, timeout=30, interval=0.01)
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)


TcpHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def tcp_served(handler: TcpHandler) -> AsyncIterator[int]:
    """A raw TCP server on 127.0.0.1 that runs ``handler`` for each connection (a fake that
    speaks bytes a test writes by hand: a broken upstream, a silent Redis), on a port the OS
    picks; yields the port and stops listening on exit. The connections ``handler`` keeps are
    its own to close."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@asynccontextmanager
async def running_app(app: Any, base_url: str = "http://testserver") -> AsyncIterator[Any]:
    """Run ``app``'s lifespan and yield an httpx client speaking to it in-process."""
    import httpx  # a test-only dependency

    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            yield client


class StaticKeys:
    """A KeySource holding fixed public keys (tests, and auth verifying its own tokens)."""

    def __init__(self, keys: dict[str, Any]) -> None:
        self.keys = keys

    async def get_key(self, kid: str) -> Any:
        from swe_common.security import InvalidToken

        try:
            return self.keys[kid]
        except KeyError:
            raise InvalidToken(f"unknown signing key {kid!r}") from None


class TokenFactory:
    """Mints ES256 access tokens shaped like the auth service's, for services' own tests.

    ``app.state.token_verifier = factory.verifier()`` before ``running_app(app)`` makes the
    service accept them without an auth service running.
    """

    def __init__(self, issuer: str = "swe-auth", audience: str = "swe-platform") -> None:
        from cryptography.hazmat.primitives.asymmetric import ec

        self.kid = f"test-{uuid.uuid4().hex[:8]}"
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.issuer = issuer
        self.audience = audience

    def token(
        self,
        subject: str | uuid.UUID | None = None,
        *,
        roles: tuple[str, ...] = ("user",),
        scopes: tuple[str, ...] = (),
        api_key_id: str | None = None,
        ttl_seconds: int = 900,
        **claims: Any,
    ) -> str:
        import jwt

        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": str(subject or uuid.uuid4()),
            "iat": now,
            "nbf": now,
            "exp": now + ttl_seconds,
            "jti": uuid.uuid4().hex,
            "roles": list(roles),
            "scope": " ".join(scopes),
            **claims,
        }
        if api_key_id:
            payload["api_key_id"] = api_key_id
        return jwt.encode(
            payload, self.private_key, algorithm="ES256", headers={"kid": self.kid, "typ": "at+jwt"}
        )

    def headers(self, subject: str | uuid.UUID | None = None, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(subject, **kwargs)}"}

    def verifier(self, is_revoked: Any = None) -> Any:
        from swe_common.security import TokenVerifier

        return TokenVerifier(
            StaticKeys({self.kid: self.private_key.public_key()}),
            issuer=self.issuer,
            audience=self.audience,
            is_revoked=is_revoked,
        )


# Paths every service gets from the platform (no domain data, no API-key scope).
PLATFORM_PATHS = ("/health", "/metrics", "/docs", "/redoc", "/openapi.json")


def unscoped_routes(app: Any) -> list[str]:
    """``METHOD path`` of each API or WebSocket route of ``app`` that carries no API-key
    scope guard (``swe_common.security.api_key_scope``); platform paths excepted."""
    from fastapi.routing import APIRoute, APIWebSocketRoute

    from swe_common.security import scope_guards

    missing = []
    routes = list(app.routes)
    while routes:
        route = routes.pop(0)
        included = getattr(route, "original_router", None)  # FastAPI's included router
        if included is not None:
            routes.extend(included.routes)
            continue
        if not isinstance(route, APIRoute | APIWebSocketRoute):
            continue
        if route.path.startswith(PLATFORM_PATHS) or scope_guards(route):
            continue
        methods = sorted(getattr(route, "methods", None) or {"WEBSOCKET"})
        missing.append(f"{'/'.join(methods)} {route.path}")
    return missing


@dataclass(frozen=True)
class ScopeCase:
    """One HTTP route of an app as an API key meets it: the request to send (path parameters
    filled with random ids) and the scope its guard asks for (None: API keys refused)."""

    method: str
    path: str
    scope: str | None
    read_also: tuple[str, ...]

    def other_families(self, families: tuple[str, ...]) -> tuple[str, ...]:
        """Every ``<family>:admin`` scope that must NOT open this route."""
        family = self.scope.partition(":")[0] if self.scope else None
        opening = {family, *(self.read_also if self.method == "GET" else ())}
        return tuple(f"{f}:admin" for f in families if f not in opening)


def scope_cases(app: Any) -> list[ScopeCase]:
    """A case per method of every HTTP route with a scope guard (see ``unscoped_routes``)."""
    import re

    from fastapi.routing import APIRoute

    from swe_common.security import scope_guards

    cases = []
    routes = list(app.routes)
    while routes:
        route = routes.pop(0)
        included = getattr(route, "original_router", None)
        if included is not None:
            routes.extend(included.routes)
            continue
        if not isinstance(route, APIRoute):
            continue
        for guard in scope_guards(route):
            path = re.sub(r"{[^}]+}", lambda _: str(uuid.uuid4()), route.path)
            for method in sorted((route.methods or set()) - {"HEAD", "OPTIONS"}):
                scope = f"{guard.family}:{guard.needed(method)}" if guard.family else None
                cases.append(ScopeCase(method, path, scope, guard.read_also))
    return cases


def refused_for_scope(response: Any, scope: str | None) -> bool:
    """Whether ``response`` is the guard's 403 problem naming ``scope`` (None: keys refused)."""
    if response.status_code != 403:
        return False
    body = response.json()
    if scope is None:
        return "API keys cannot be used here" in body.get("detail", "")
    return body.get("missing_scope") == scope and scope in body.get("detail", "")


async def scope_denials(client: Any, cases: list[ScopeCase], key: Any) -> list[str]:
    from swe_common import security

    """Send each case with API keys that must be refused; list every case that was not.

    ``key(scopes)`` gives the headers of an API-key token with those scopes. Refused: every
    other family's ``:admin`` scope, and for a write the family's own ``:read``."""
    failures = []
    for case in cases:
        attempts = [case.other_families(security.SCOPE_FAMILIES)]
        if case.scope and case.scope.endswith(":write"):
            attempts.append((case.scope.replace(":write", ":read"),))
        for scopes in attempts:
            body: dict[str, Any] | None = None if case.method == "GET" else {}
            response = await client.request(case.method, case.path, json=body, headers=key(scopes))
            if not refused_for_scope(response, case.scope):
                failures.append(f"{case.method} {case.path} {scopes}: {response.status_code}")
    return failures


async def scope_admissions(client: Any, cases: list[ScopeCase], key: Any) -> list[str]:
    """Send each case with an API key holding exactly its scope; list every case the guard
    refused anyway (the route's own answer, 404 or 422 for made-up ids, is fine)."""
    failures = []
    for case in cases:
        if case.scope is None:
            continue
        body: dict[str, Any] | None = None if case.method == "GET" else {}
        response = await client.request(
            case.method, case.path, json=body, headers=key((case.scope,))
        )
        if response.status_code == 403 and "lacks the scope" in response.text:
            failures.append(f"{case.method} {case.path} {case.scope}: {response.text[:200]}")
    return failures


# -- Request input bounds ---------------------------------------------------------------------
# Formats whose validators bound the value and refuse NUL themselves.
_BOUNDED_FORMATS = frozenset({"uuid", "date-time", "date", "time", "email", "duration"})
_INT64 = (-(2**63), 2**63 - 1)


def unbounded_request_inputs(openapi: dict[str, Any]) -> list[str]:
    """Every request input of an OpenAPI document that PostgreSQL could refuse: a string
    without ``maxLength`` or without a ``pattern`` (``swe_common.types`` gives the NUL-free
    one), an integer without bounds inside int64. Parameters and JSON bodies, nested schemas
    included. Empty when every input uses the common types."""
    components = openapi.get("components", {}).get("schemas", {})
    found: list[str] = []
    for path, item in openapi.get("paths", {}).items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            where = f"{method.upper()} {path}"
            for param in [*item.get("parameters", []), *operation.get("parameters", [])]:
                label = f"{where} {param['in']}.{param['name']}"
                _check_schema(param.get("schema", {}), label, components, found, set())
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, body in content.items():
                label = f"{where} body({media_type})"
                _check_schema(body.get("schema", {}), label, components, found, set())
    return found


def _check_schema(
    schema: dict[str, Any],
    where: str,
    components: dict[str, Any],
    found: list[str],
    seen: set[str],
) -> None:
    ref = schema.get("$ref")
    if ref:
        name = ref.rsplit("/", 1)[1]
        if name not in seen:
            _check_schema(components[name], where, components, found, seen | {name})
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            _check_schema(option, where, components, found, seen)
    if "enum" in schema or "const" in schema:
        return
    kind = schema.get("type")
    if kind == "string":
        if schema.get("format") in _BOUNDED_FORMATS or schema.get("format") == "binary":
            return
        if "maxLength" not in schema:
            found.append(f"{where}: string without maxLength")
        if "pattern" not in schema:
            found.append(f"{where}: string not NUL-free (no pattern)")
    elif kind == "integer":
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        high = schema.get("maximum", schema.get("exclusiveMaximum"))
        # FastAPI writes bounds as floats: int64's own read back as +-2**63.
        if low is None or high is None or low < float(_INT64[0]) or high > float(_INT64[1]):
            found.append(f"{where}: integer without bounds inside int64")
    elif kind == "object" or "properties" in schema:
        for name, prop in schema.get("properties", {}).items():
            _check_schema(prop, f"{where}.{name}", components, found, seen)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            _check_schema(extra, f"{where}.*", components, found, seen)
    elif kind == "array":
        _check_schema(schema.get("items", {}), f"{where}[]", components, found, seen)


def bodies_not_request_models(app: Any) -> list[str]:
    """Routes whose JSON body is a model not derived from ``swe_common.types.RequestModel``
    (which refuses unknown fields and NUL anywhere in the body, free-form JSON included)."""
    from pydantic import BaseModel

    from swe_common.types import RequestModel

    found: list[str] = []
    for route in _api_routes(app.routes):
        for param in route.dependant.body_params:
            annotation = param.field_info.annotation
            where = f"{sorted(route.methods)} {route.path}"
            models = _models_in(annotation)
            found.extend(
                f"{where}: {model.__name__}"
                for model in models
                if issubclass(model, BaseModel) and not issubclass(model, RequestModel)
            )
            if not models:
                found.append(f"{where}: body {annotation!r}")
    return found


def _api_routes(routes: Any) -> Any:
    from fastapi.routing import APIRoute

    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        included = getattr(route, "original_router", None)  # an included router, unflattened
        if included is not None:
            yield from _api_routes(included.routes)


def _models_in(annotation: Any) -> list[type]:
    from typing import get_args

    if isinstance(annotation, type):
        return [annotation]
    return [model for arg in get_args(annotation) for model in _models_in(arg)]
