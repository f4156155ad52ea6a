"""The HTTP hot path: a raw ASGI app forwarding to upstreams over pooled keep-alive connections
(``upstream_client.py``).

Per request: route by prefix, authenticate (unless public), one Redis round trip for the rate
limit, then forward with retries (idempotent methods only, connect errors and 502/503/504,
bounded by the service's retry budget), streaming both bodies.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import structlog
from opentelemetry.trace import Span
from starlette.types import Receive, Scope, Send
from yarl import URL

from swe_common.errors import send_problem
from swe_common.security import InvalidToken, Principal
from swe_gateway import metrics
from swe_gateway.config import GatewayConfig, Route
from swe_gateway.edge_auth import CredentialsUnavailable, EdgeAuth
from swe_gateway.http_util import (
    HOP_BY_HOP,
    SECURITY_HEADERS,
    Headers,
    connection_tokens,
)
from swe_gateway.ratelimit import Limit, RateLimiter, refusal
from swe_gateway.settings import Settings
from swe_gateway.upstream_client import (
    PoolSaturated,
    UpstreamClient,
    UpstreamError,
    UpstreamResponse,
    is_safe_header_value,
)
from swe_gateway.upstreams import Instance, Registry, ServicePool

log = structlog.stdlib.get_logger(__name__)

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({502, 503, 504})
BUFFER_LIMIT = 64 * 1024  # bodies up to this are read whole (and can be retried)
# Set by the gateway itself; a client's copy would be a spoof.
DROP_REQUEST = frozenset(
    {
        b"host",
        b"x-forwarded-for",
        b"x-forwarded-proto",
        b"x-forwarded-host",
        b"x-request-id",
        b"x-api-key",
    }
)
# 'request' on a service's 5xx that concerns one request, not the instance (swe_common.errors).
FAILURE_SCOPE_HEADER = b"x-failure-scope"
# uvicorn writes its own Date; a second one from the upstream would be a duplicate header.
DROP_RESPONSE = frozenset({b"x-request-id", b"date", FAILURE_SCOPE_HEADER})
NOT_RELAYED = HOP_BY_HOP | DROP_RESPONSE


class ClientGone(Exception):
    """The client disconnected while we were reading its body."""


class BodyTooLarge(Exception):
    pass


@dataclass(slots=True)
class Call:
    """One client request as the gateway sees it."""

    scope: Scope
    method: str
    path: str
    request_id: str
    client_ip: str
    forwarded_for: str
    forwarded_proto: str
    forwarded_host: str
    authorization: str | None = None  # replaces the client's header (API-key exchange)
    max_body: int = 0  # the largest request body this path takes (GatewayConfig.max_body_for)
    # Tracing on (spans.py): the request's span when it records, and the traceparent the
    # upstream gets in place of the client's. Both None when tracing is off.
    span: Span | None = None
    traceparent: bytes | None = None


class Proxy:
    def __init__(
        self,
        settings: Settings,
        config: GatewayConfig,
        registry: Registry,
        auth: EdgeAuth,
        limiter: RateLimiter,
        session: aiohttp.ClientSession,
        client: UpstreamClient,
    ) -> None:
        self.settings = settings
        self.config = config
        self.registry = registry
        self.auth = auth
        self.limiter = limiter
        self.session = session  # WebSockets (websocket.py)
        self.client = client  # every HTTP request
        self.requests = metrics.RequestCounter()
        self.latency = metrics.LatencyObserver()

    # -- edge checks, shared with the WebSocket proxy ------------------------------------

    async def principal_for(self, call: Call, token: str | None, api_key: str | None) -> Principal:
        """Raise InvalidToken (401) or CredentialsUnavailable (503)."""
        if api_key:
            token = await self.auth.exchange_api_key(api_key)
            call.authorization = f"Bearer {token}"
        if not token:
            raise InvalidToken("no credentials")
        return await self.auth.authenticate(token)

    def limits_for(self, call: Call, principal: Principal | None) -> list[Limit]:
        return self.limiter.limits_for(
            principal, call.client_ip, self.config.limits_for(call.path, call.method)
        )

    # -- HTTP --------------------------------------------------------------------------

    async def handle(self, call: Call, route: Route, receive: Receive, send: Send) -> int:
        """Answer one request; returns the status sent (for the access log and metrics)."""
        scope = call.scope
        principal: Principal | None = None
        if route.methods is not None and call.method not in route.methods:
            allowed = ", ".join(sorted(route.methods)).encode()
            detail = f"{call.method} is not allowed on {call.path}."
            return await self._problem(
                send, call, 405, detail, "method-not-allowed", [(b"allow", allowed)]
            )
        public = route.public or self.config.is_public(call.path)
        if not public:
            token, api_key = _credentials(scope)
            if call.span is not None:
                call.span.set_attribute("swe.gateway.auth", "api_key" if api_key else "bearer")
            try:
                principal = await self.principal_for(call, token, api_key)
            except InvalidToken as exc:
                metrics.AUTH_REJECTIONS.labels(
                    "missing" if not (token or api_key) else "invalid"
                ).inc()
                log.info("credentials_rejected", reason=str(exc), request_id=call.request_id)
                return await self._problem(
                    send,
                    call,
                    401,
                    "A valid bearer token or API key is required.",
                    "unauthorized",
                    [(b"www-authenticate", b"Bearer")],
                )
            except CredentialsUnavailable as exc:
                log.warning("credentials_unavailable", reason=str(exc))
                return await self._problem(
                    send,
                    call,
                    503,
                    "Credentials cannot be checked right now; retry shortly.",
                    "unavailable",
                    [(b"retry-after", b"5")],
                )
        elif call.span is not None:
            call.span.set_attribute("swe.gateway.auth", "public")
        limit_headers: Headers = []
        if self.settings.rate_limit_enabled:
            decision = await self.limiter.check(self.limits_for(call, principal))
            limit_headers = decision.headers()
            if call.span is not None:
                call.span.set_attribute(
                    "swe.gateway.rate_limit", "allowed" if decision.allowed else "refused"
                )
            if not decision.allowed:
                return await self._problem(send, call, *refusal(decision))
        call.max_body = self.config.max_body_for(call.path, route, public)
        length = _content_length(scope)
        if length is not None and length > call.max_body:
            # Refused before a byte of it is read.
            return await self._problem(send, call, 413, _too_large(call), "too-large")
        return await self.forward(call, route, receive, send, limit_headers)

    async def _problem(
        self,
        send: Send,
        call: Call,
        status: int,
        detail: str,
        slug: str,
        headers: Headers | None = None,
    ) -> int:
        if call.span is not None:
            call.span.set_attribute("swe.gateway.decision", slug)
        await send_problem(
            send,
            status,
            detail=detail,
            slug=slug,
            instance=call.path,
            headers=[
                *(headers or []),
                *SECURITY_HEADERS,
                (b"x-request-id", call.request_id.encode()),
            ],
        )
        return status

    async def forward(
        self, call: Call, route: Route, receive: Receive, send: Send, extra: Headers
    ) -> int:
        pool = self.registry.pools[route.service]
        if call.span is not None:
            call.span.set_attribute("swe.gateway.breaker", str(pool.breaker.state))
        if not pool.breaker.allow():
            return await self._problem(
                send,
                call,
                503,
                f"The {pool.name} service is failing; its circuit is open.",
                "circuit-open",
                [(b"retry-after", str(pool.breaker.retry_after()).encode())],
            )
        verdict: bool | None = None
        try:
            status, verdict = await self._attempts(call, route, pool, receive, send, extra)
            return status
        finally:
            if verdict is None:
                pool.breaker.release()
            else:
                pool.breaker.record(verdict)

    async def _attempts(
        self,
        call: Call,
        route: Route,
        pool: ServicePool,
        receive: Receive,
        send: Send,
        extra: Headers,
    ) -> tuple[int, bool | None]:
        """Try instances until one answers; (status sent, breaker verdict or None)."""
        try:
            body = await _request_body(call.scope, receive, call.max_body)
        except BodyTooLarge:
            return await self._problem(send, call, 413, _too_large(call), "too-large"), None
        except ClientGone:
            return 499, None
        headers = self._upstream_headers(call)
        target = call.scope["raw_path"]
        if call.scope["query_string"]:
            target += b"?" + call.scope["query_string"]
        retryable = call.method in IDEMPOTENT and not _is_stream(body)
        pool.budget.deposit()
        tried: tuple[Instance, ...] = ()
        attempt = 0
        saturated = False
        while True:
            instance = pool.pick(tried)
            if saturated and (instance is None or instance in tried):
                # Every instance was loaded: shed this request, and give the breaker no
                # verdict. Counted as failures, a burst past the service's capacity would open
                # the breaker and refuse every caller for its whole cooldown.
                detail = f"The {pool.name} service is busy (every connection to it is in use)."
                soon = [(b"retry-after", b"1")]
                return await self._problem(send, call, 503, detail, "busy", soon), None
            if instance is None:
                detail = f"No healthy instance of the {pool.name} service is available."
                retry = str(pool.wait_seconds()).encode()
                status = await self._problem(
                    send, call, 503, detail, "unavailable", [(b"retry-after", retry)]
                )
                # Counts against the breaker: a service whose every instance is ejected or
                # failing its health check is down, whichever mechanism noticed first.
                return status, False
            tried = (*tried, instance)
            started = time.perf_counter()
            try:
                response = await self.client.request(
                    call.method,
                    instance.base,
                    target,
                    headers,
                    body,
                    connect_timeout=self.settings.connect_timeout_seconds,
                    read_timeout=route.timeout,
                )
            except BodyTooLarge:
                # The upload crossed the limit mid-stream; the upstream's request was cut off
                # (its connection closed), and the client has not had an answer yet.
                return await self._problem(send, call, 413, _too_large(call), "too-large"), None
            except ClientGone:
                return 499, None
            except PoolSaturated:
                # Nothing was sent, so another instance may take it whatever the method.
                saturated = True
                continue
            except UpstreamError as exc:
                pool.record(instance, False)  # unreachable, too slow, or a broken answer
                if exc.kind == "connect" and retryable and await self._may_retry(pool, attempt):
                    attempt += 1
                    continue
                log.warning("upstream_failed", service=pool.name, url=instance.url,
                            error=str(exc), request_id=call.request_id)  # fmt: skip
                return await self._upstream_problem(send, call, route, pool, exc.kind), False
            self.latency.observe(pool.name, time.perf_counter() - started)
            healthy = not _instance_failed(response)
            pool.record(instance, healthy)
            try:
                again = not healthy and retryable and await self._may_retry(pool, attempt)
            except BaseException:
                response.release()  # cancelled in the backoff: the connection must go back
                raise
            if again:
                response.release()
                attempt += 1
                continue
            if call.span is not None:
                call.span.set_attributes(
                    {
                        "swe.gateway.decision": "forwarded",
                        "server.address": instance.base.host or "",
                        "server.port": instance.base.port or 0,
                        "swe.gateway.attempts": attempt + 1,
                    }
                )
            status = await self._relay(call, response, send, extra)
            if healthy and status != response.status:  # a 502 of ours: the answer broke off
                pool.record(instance, False)
                healthy = False
            return status, healthy

    async def _upstream_problem(
        self, send: Send, call: Call, route: Route, pool: ServicePool, kind: str
    ) -> int:
        if kind == "timeout":
            detail = f"The {pool.name} service did not answer within {route.timeout:g}s."
            return await self._problem(send, call, 504, detail, "upstream-timeout")
        if kind == "connect":
            detail = f"The {pool.name} service could not be reached."
            retry = [(b"retry-after", b"1")]
            return await self._problem(send, call, 503, detail, "unavailable", retry)
        detail = f"The {pool.name} service sent an invalid response."
        return await self._problem(send, call, 502, detail, "bad-gateway")

    async def _may_retry(self, pool: ServicePool, attempt: int) -> bool:
        if attempt >= self.settings.retry_attempts or not pool.budget.withdraw():
            return False
        metrics.RETRIES.labels(pool.name).inc()
        # Exponential backoff with full jitter: retries of many clients do not line up.
        await asyncio.sleep(random.uniform(0, self.settings.retry_backoff_seconds * 2**attempt))  # noqa: S311
        return True

    def _upstream_headers(self, call: Call) -> Headers:
        raw = call.scope["headers"]
        # Names the server lowered; what the gateway replaces (an exchanged API key's token,
        # its own traceparent) goes too; a Connection header's tokens are rare.
        drop = DROP_REQUEST
        if call.authorization is not None or call.traceparent is not None:
            drop = drop | {b"authorization"} if call.authorization is not None else drop
            drop = drop | {b"traceparent"} if call.traceparent is not None else drop
        if any(name == b"connection" for name, _ in raw):
            drop = drop | connection_tokens(raw)
        headers: Headers = [
            (name, value) for name, value in raw if name not in HOP_BY_HOP and name not in drop
        ]
        if call.traceparent is not None:  # the gateway's span is the upstream's parent
            headers.append((b"traceparent", call.traceparent))
        headers += [
            (b"x-forwarded-for", call.forwarded_for.encode("latin-1")),
            (b"x-forwarded-proto", call.forwarded_proto.encode("latin-1")),
            (b"x-request-id", call.request_id.encode("latin-1")),
        ]
        if call.forwarded_host:  # from the client's Host: already a valid header value
            headers.append((b"x-forwarded-host", call.forwarded_host.encode("latin-1")))
        if call.authorization is not None:
            # From the API-key exchange's answer: never let it smuggle a header line.
            token = call.authorization.encode("latin-1")
            if is_safe_header_value(token):
                headers.append((b"authorization", token))
        return headers

    async def _relay(
        self, call: Call, response: UpstreamResponse, send: Send, extra: Headers
    ) -> int:
        """Pass the upstream's answer on; Set-Cookie untouched, Location without internal
        addresses. A small body is read before the head goes out (an upstream failing mid-body
        still gets a clean 502); a large one streams, and a failure then can only cut the
        client's connection."""
        try:
            headers = self._client_headers(call, response, extra)
            length = response.content_length
            if call.method == "HEAD" or (length is not None and length <= BUFFER_LIMIT):
                try:
                    body = b"" if call.method == "HEAD" else await response.read()
                except UpstreamError as exc:
                    log.warning("upstream_body_failed", error=str(exc), request_id=call.request_id)
                    detail = "The upstream's answer broke off."
                    return await self._problem(send, call, 502, detail, "bad-gateway")
                start = {"type": "http.response.start", "status": response.status}
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return response.status
            await send(
                {"type": "http.response.start", "status": response.status, "headers": headers}
            )
            try:
                async for chunk in response.iter_chunks():
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except UpstreamError as exc:
                # Headers are out: the only honest signal left is closing the connection early.
                log.warning("upstream_body_failed", error=str(exc), request_id=call.request_id)
                return response.status
            await send({"type": "http.response.body", "body": b""})
            return response.status
        finally:
            response.release()

    def _client_headers(self, call: Call, response: UpstreamResponse, extra: Headers) -> Headers:
        raw = response.headers
        headers: Headers = []
        present: set[bytes] = set()
        connection = False
        for name, value in raw:
            lower = name.lower()
            if lower in NOT_RELAYED:
                connection = connection or lower == b"connection"
                continue
            if lower == b"location":
                value = self._public_location(value)
            present.add(lower)
            headers.append((lower, value))
        if connection:  # rare: its tokens name more hop-by-hop headers
            named = connection_tokens(raw)
            headers = [h for h in headers if h[0] not in named]
            present -= named
        headers += [h for h in SECURITY_HEADERS if h[0] not in present]
        headers.append((b"x-request-id", call.request_id.encode()))
        headers += extra
        return headers

    def _public_location(self, value: bytes) -> bytes:
        """A ``Location`` naming an upstream instance's own address (``http://10.0.0.5:8002/x``,
        a service's absolute redirect) becomes the path it points to (``/x``), which the client
        resolves against the gateway: internal addresses never leak. Others pass unchanged."""
        if not value.startswith((b"http:", b"https:", b"HTTP", b"//")):
            return value  # already relative: the common case costs one check
        try:
            url = URL(("http:" if value.startswith(b"//") else "") + value.decode("latin-1"))
        except ValueError:
            return value
        internal = any(
            instance.base.host == url.host and instance.base.port == url.port
            for pool in self.registry.pools.values()
            for instance in pool.instances
        )
        if not internal:
            return value
        fragment = f"#{url.raw_fragment}" if url.raw_fragment else ""
        return (url.raw_path_qs + fragment).encode("latin-1")


def _instance_failed(response: UpstreamResponse) -> bool:
    """Whether an answer is evidence that the instance itself is failing: 502/503/504, unless
    the instance says the failure concerns this request only (a dependency failed for it).
    Any other status, 500 included, is an answer to one request: a caller who finds an input
    that answers 500 must not get the instance ejected or the service's breaker opened."""
    if response.status not in RETRY_STATUSES:
        return False
    for name, value in response.headers:
        if name.lower() == FAILURE_SCOPE_HEADER and value.strip().lower() == b"request":
            return False
    return True


def _too_large(call: Call) -> str:
    return f"The request body exceeds {call.max_body} bytes, the most {call.path} takes."


def _credentials(scope: Scope) -> tuple[str | None, str | None]:
    token = api_key = None
    for name, value in scope["headers"]:
        if name == b"authorization":
            # The scheme compared as bytes (latin-1 maps bytes to code points 1:1, and no
            # latin-1 letter lowers to ASCII), the token decoded and stripped as before.
            scheme, _, rest = value.partition(b" ")
            if scheme.lower() == b"bearer" and (text := rest.decode("latin-1").strip()):
                token = text
        elif name == b"x-api-key" and value.strip():
            api_key = value.decode("latin-1").strip()
    return token, api_key


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"transfer-encoding" or (name == b"content-length" and value != b"0"):
            return True
    return False


def _is_stream(body: object) -> bool:
    return body is not None and not isinstance(body, bytes)


async def _request_body(
    scope: Scope, receive: Receive, limit: int
) -> bytes | AsyncIterator[bytes] | None:
    if not _has_body(scope):
        return None
    length = _content_length(scope)
    if length is not None and length <= BUFFER_LIMIT:
        return await _read_all(receive, limit)
    return _stream(receive, limit)


async def _read_all(receive: Receive, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts)


async def _stream(receive: Receive, limit: int) -> AsyncIterator[bytes]:
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            # Aborts the upstream request mid-body; the client's answer is a broken connection.
            raise BodyTooLarge
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return
