"""Verifying access tokens locally, and the FastAPI dependencies built on it.

The auth service signs ES256 access tokens named by ``kid`` and publishes the public keys as a
JWKS. Every other service (and the gateway) verifies tokens here, with a pinned algorithm list,
without ever fetching a key a token points at (``jku``/``x5u``/``jwk`` headers are refused).
An unknown ``kid`` refreshes the JWKS, at most once per ``min_refresh_seconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, NoReturn, Protocol

import aiohttp
import jwt
import structlog
from fastapi import Depends, Request, WebSocketException
from redis.exceptions import RedisError
from starlette.requests import HTTPConnection

from swe_common import permissions as perms
from swe_common.errors import Forbidden, Unauthorized
from swe_common.metrics import CacheCounter
from swe_common.permissions import Permission

log = structlog.stdlib.get_logger(__name__)

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - a media type, not a secret
ALGORITHMS = ("ES256",)
FORBIDDEN_HEADERS = ("jku", "x5u", "jwk", "x5c")
ROLES = perms.ROLES  # admin, user, agent, readonly: see swe_common.permissions
# How a WebSocket is closed when its caller's credentials are revoked while it is open.
REVOKED_CLOSE_CODE = 4401
REVOKED_REASON = "credentials revoked"
# Redis keys shared by auth (writer) and every verifier (reader).
REVOKED_JTI_KEY = "swe:auth:revoked:{jti}"
TOKENS_NOT_BEFORE_KEY = "swe:auth:not-before:{sub}"
REVOKED_API_KEY_KEY = "swe:auth:revoked-api-key:{key_id}"
# A revoked session (refresh family): every access token carrying its ``sid`` is dead.
REVOKED_SESSION_KEY = "swe:auth:revoked-session:{sid}"
# Auth announces every revocation here once its key is written; a verifier following the
# channel (``follow_revocations``) re-checks its cached tokens at their next use instead of
# waiting out ``recheck_seconds``, which then only bounds a missed announcement.
REVOCATIONS_CHANNEL = "swe:auth:revocations"


class InvalidToken(Exception):
    """The token is not a valid access token; the message says why (for logs, not clients)."""


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    roles: frozenset[str]
    scopes: frozenset[str] = frozenset()
    token_id: str = ""
    issued_at: int = 0
    expires_at: int = 0
    api_key_id: str | None = None
    claims: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def user_id(self) -> uuid.UUID | None:
        """The subject as the user's id; None when it names no user (a service token)."""
        try:
            return uuid.UUID(self.subject)
        except ValueError:
            return None

    @property
    def session_id(self) -> str | None:
        """The ``sid`` claim: the sign-in session (refresh family) the token belongs to."""
        sid = self.claims.get("sid")
        return sid if isinstance(sid, str) and sid else None

    def may(self, permission: Permission) -> bool:
        """Whether the caller's roles (narrowed by an API key's scopes) grant ``permission``
        (``swe_common.permissions``' table)."""
        return perms.granted(self, permission)

    @property
    def is_admin(self) -> bool:
        """Sees and acts in every project (``projects.every``: the admin role)."""
        return self.may(Permission.PROJECTS_EVERY)

    @property
    def is_readonly(self) -> bool:
        """Read-only callers: nothing beyond reading is granted (the readonly role, or an API
        key without any write scope)."""
        return not (perms.permissions(self) - perms.READ_PERMISSIONS - {Permission.ACCOUNT_SELF})


class KeySource(Protocol):
    async def get_key(self, kid: str) -> Any: ...


class JWKSClient:
    """Public keys from a JWKS URL, cached for ``ttl_seconds`` and refreshed on an unknown kid."""

    def __init__(
        self, url: str, *, ttl_seconds: float = 300.0, min_refresh_seconds: float = 5.0
    ) -> None:
        self.url = url
        self.ttl_seconds = ttl_seconds
        self.min_refresh_seconds = min_refresh_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._lookups = CacheCounter("jwks")

    async def get_key(self, kid: str) -> Any:
        now = time.monotonic()
        key = self._keys.get(kid)
        if key is not None and now - self._fetched_at < self.ttl_seconds:
            self._lookups.hit()
            return key
        self._lookups.miss()
        async with self._lock:
            stale = time.monotonic() - self._fetched_at
            wanted = kid not in self._keys or stale >= self.ttl_seconds
            if wanted and (stale >= self.min_refresh_seconds or not self._keys):
                await self._refresh()
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken(f"unknown signing key {kid!r}")
        return key

    def load(self, jwks: dict[str, Any]) -> None:
        keys: dict[str, Any] = {}
        for jwk in jwks.get("keys", []):
            if jwk.get("kid") and jwk.get("kty") == "EC" and jwk.get("use", "sig") == "sig":
                keys[jwk["kid"]] = jwt.PyJWK(jwk, algorithm="ES256").key
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def _refresh(self) -> None:
        try:
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3))
            async with self._session.get(self.url) as response:
                response.raise_for_status()
                self.load(await response.json())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            # Keep serving the keys we have; an unknown kid stays unknown until auth answers.
            self._fetched_at = time.monotonic() - self.ttl_seconds + self.min_refresh_seconds
            log.warning("jwks_refresh_failed", url=self.url, error=str(exc))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


RevocationCheck = Callable[[Principal], Awaitable[bool]]


class TokenVerifier:
    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        is_revoked: RevocationCheck | None = None,
        leeway_seconds: int = 30,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.is_revoked = is_revoked
        self.leeway_seconds = leeway_seconds

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"malformed token: {exc}") from None
        if header.get("alg") not in ALGORITHMS:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not accepted")
        if any(name in header for name in FORBIDDEN_HEADERS):
            raise InvalidToken("token names its own key; refused")
        if header.get("typ") != ACCESS_TOKEN_TYPE:
            raise InvalidToken("not an access token")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("token has no kid")
        key = await self.keys.get_key(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=list(ALGORITHMS),
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from None
        principal = principal_from_claims(claims)
        if self.is_revoked is not None and await self.is_revoked(principal):
            raise InvalidToken("token has been revoked")
        return principal


@dataclass(slots=True)
class _Verified:
    principal: Principal
    checked_at: float  # monotonic seconds of the last revocation check
    generation: int  # the cache's generation at that check (see recheck_all)


class CachingTokenVerifier:
    """A ``TokenVerifier`` whose answers are kept for the token's lifetime (never past its
    ``exp``), so a caller presenting the same token again costs a dict lookup instead of an
    ES256 verification and a Redis round trip. A cached token's revocation is re-checked at
    most ``recheck_seconds`` apart: a revoked token stops passing within that bound. The
    gateway and every service verify through one of these.

    The requests that arrive while one of them re-checks use the answer of the last check
    (the check is marked before its await): under load a herd of identical checks is what
    made Redis time out. A failing check (the verifier's ``is_revoked`` raising) is raised to
    the caller and the token is re-checked by the next request. ``size`` bounds the cache
    (the oldest entry goes first); 0 turns caching off. ``recheck_all`` (a revocation
    announced, ``follow_revocations``) makes every cached token re-checked at its next use.
    """

    def __init__(
        self, verifier: TokenVerifier, *, size: int = 10_000, recheck_seconds: float = 1.0
    ) -> None:
        self.verifier = verifier
        self.size = size
        self.recheck_seconds = recheck_seconds
        self._tokens: OrderedDict[str, _Verified] = OrderedDict()
        # Bumped by recheck_all: an entry checked in an older generation is due for a check.
        self._generation = 0

    @property
    def is_revoked(self) -> RevocationCheck | None:
        return self.verifier.is_revoked

    async def verify(self, token: str) -> Principal:
        cached = self._tokens.get(token)
        now = time.monotonic()
        if cached is not None and cached.principal.expires_at > time.time():
            is_revoked = self.verifier.is_revoked
            generation = self._generation
            if is_revoked is not None and (
                now - cached.checked_at >= self.recheck_seconds or cached.generation != generation
            ):
                previous = cached.checked_at, cached.generation
                cached.checked_at, cached.generation = now, generation
                try:
                    revoked = await is_revoked(cached.principal)
                except BaseException:
                    cached.checked_at, cached.generation = previous
                    raise
                if revoked:
                    self._tokens.pop(token, None)
                    raise InvalidToken("token has been revoked")
            return cached.principal
        generation = self._generation
        principal = await self.verifier.verify(token)
        if self.size > 0:
            self._tokens[token] = _Verified(principal, now, generation)
            while len(self._tokens) > self.size:
                self._tokens.popitem(last=False)
        return principal

    def forget(self) -> None:
        """Drop every cached answer (this process revoked something: tell it at once)."""
        self._tokens.clear()

    def recheck_all(self) -> None:
        """Something was revoked: every cached token's revocation is checked again at its
        next use (its signature is not: that still holds)."""
        self._generation += 1


async def announce_revocation(redis: Any, prefix: str = "") -> None:
    """Tell every verifier following ``REVOCATIONS_CHANNEL`` to re-check its cached tokens
    (auth, after writing a revocation key). ``prefix`` as ``redis_revocation_check``'s."""
    await redis.publish(prefix + REVOCATIONS_CHANNEL, "1")


async def follow_revocations(
    redis: Any, verifier: CachingTokenVerifier, *, prefix: str = "", retry_seconds: float = 1.0
) -> None:
    """Run until cancelled: each revocation announced on ``REVOCATIONS_CHANNEL`` makes
    ``verifier`` re-check its cached tokens, so a service whose cache re-checks only every
    ``recheck_seconds`` still refuses a revoked token at once. While the channel is lost
    (Redis down, a reconnect) announcements may be missed: every cached token is re-checked
    when it is followed again, and ``recheck_seconds`` bounds the time in between."""
    channel = prefix + REVOCATIONS_CHANNEL
    lost = False
    while True:
        pubsub = redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(channel)
            # Anything revoked while the channel was not followed is re-checked now.
            verifier.recheck_all()
            if lost:
                log.info("revocation_feed_restored")
                lost = False
            while True:
                message = await pubsub.get_message(timeout=retry_seconds)
                if message is not None and message.get("type") == "message":
                    verifier.recheck_all()
        except (RedisError, OSError, TimeoutError) as exc:
            if not lost:  # once per outage, not at every retry
                log.warning("revocation_feed_lost", error=type(exc).__name__)
            lost = True
        finally:
            with contextlib.suppress(RedisError, OSError, TimeoutError):
                await pubsub.aclose()
        await asyncio.sleep(retry_seconds)


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    roles = claims.get("roles", [])
    scopes = claims.get("scope", "")
    if not isinstance(roles, list) or not isinstance(scopes, str):
        raise InvalidToken("roles or scope claim malformed")
    return Principal(
        subject=str(claims["sub"]),
        roles=frozenset(str(r) for r in roles),
        scopes=frozenset(scopes.split()),
        token_id=str(claims["jti"]),
        issued_at=int(claims["iat"]),
        expires_at=int(claims["exp"]),
        api_key_id=claims.get("api_key_id"),
        claims=claims,
    )


def redis_revocation_check(
    redis: Any, *, fail_open: bool = False, prefix: str = ""
) -> RevocationCheck:
    """Revoked when the jti is denylisted, the token predates the user's cutoff, its session
    (``sid``) was ended, or it was exchanged for an API key that has since been revoked.

    With ``fail_open`` an unreachable Redis counts as "not revoked" (logged): a service behind
    the gateway still checks signature and expiry, and the gateway applies its own policy.
    Without it the Redis error propagates, for a caller that decides itself. ``prefix`` is
    auth's ``redis_key_prefix`` (set only by tests).
    """

    async def is_revoked(principal: Principal) -> bool:
        try:
            values = await redis.mget(*revocation_keys(principal, prefix))
        except (RedisError, OSError, TimeoutError) as exc:
            if not fail_open:
                raise
            log.warning("revocation_check_unavailable", error=type(exc).__name__)
            return False
        return revoked_by(principal, values)

    return is_revoked


def revocation_keys(principal: Principal, prefix: str = "") -> list[str]:
    keys = [
        prefix + REVOKED_JTI_KEY.format(jti=principal.token_id),
        prefix + TOKENS_NOT_BEFORE_KEY.format(sub=principal.subject),
    ]
    if principal.session_id:
        keys.append(prefix + REVOKED_SESSION_KEY.format(sid=principal.session_id))
    if principal.api_key_id:
        keys.append(prefix + REVOKED_API_KEY_KEY.format(key_id=principal.api_key_id))
    return keys


def revoked_by(principal: Principal, values: list[Any]) -> bool:
    """Read the values of ``revocation_keys`` (same order): the jti marker, the cutoff second,
    then the session and API-key markers; a marker revokes by being there."""
    revoked, not_before, *markers = values
    if revoked is not None or any(v is not None for v in markers):
        return True
    return not_before is not None and principal.issued_at < int(float(not_before))


async def until_revoked(principal: Principal, is_revoked: RevocationCheck, every: float) -> None:
    """Return once ``principal`` is revoked (its token, session or user cut off), checking
    ``every`` seconds: a long-lived connection (a WebSocket) ends with its session, not only
    at its handshake. A failing check (Redis down) is logged and retried, never fatal."""
    while True:
        await asyncio.sleep(every)
        try:
            if await is_revoked(principal):
                return
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("revocation_recheck_failed", error=type(exc).__name__)


# WebSockets: browsers cannot set headers on one, and a token in the URL ends up in logs, so
# the token travels as a subprotocol: the client offers ``[WS_PROTOCOL, "bearer.<token>"]``
# and the server answers ``WS_PROTOCOL`` (never the token). ``?access_token=`` is refused.
WS_PROTOCOL = "swe.v1"
WS_BEARER = "bearer"


def websocket_subprotocol_token(offered: Iterable[str]) -> tuple[str | None, list[str]]:
    """(the token offered as ``bearer.<token>`` or as the pair ``bearer``, ``<token>``;
    the other protocols offered, in order)."""
    protocols = [p.strip() for p in offered if p.strip()]
    token: str | None = None
    remaining: list[str] = []
    index = 0
    while index < len(protocols):
        protocol = protocols[index]
        if protocol.lower() == WS_BEARER and index + 1 < len(protocols):
            token = token or protocols[index + 1]
            index += 2
            continue
        if protocol.lower().startswith(WS_BEARER + "."):
            token = token or protocol[len(WS_BEARER) + 1 :] or None
        else:
            remaining.append(protocol)
        index += 1
    return token, remaining


def url_carries_token(query_string: bytes | str) -> bool:
    """True when the query names a credential (``access_token``): refused, since URLs are
    logged by servers and proxies along the way."""
    text = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    return any(
        part.partition("=")[0].lower() in ("access_token", "token", "api_key")
        for part in text.split("&")
    )


def bearer_token(request: HTTPConnection) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def get_principal(request: Request) -> Principal:
    # The scope guard has verified the token already (and, for an API key, narrowed its roles).
    known: Principal | None = getattr(request.state, "principal", None)
    if known is not None:
        return known
    token = bearer_token(request)
    if token is None:
        raise Unauthorized("A bearer access token is required")
    verifier: TokenVerifier | None = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        raise RuntimeError("this service was built without a token verifier")
    try:
        principal = await verifier.verify(token)
    except InvalidToken as exc:
        log.info("token_rejected", reason=str(exc))
        raise Unauthorized("The access token is invalid or expired") from None
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


@dataclass(frozen=True, slots=True)
class Caller:
    """A request's caller as domain code sees it: the verified principal, and its bearer token
    for what is asked on its behalf (the projects fallback asks with the caller's own token)."""

    principal: Principal
    token: str | None = None

    @property
    def subject(self) -> str:
        return self.principal.subject

    @property
    def user_id(self) -> uuid.UUID | None:
        return self.principal.user_id

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin

    @property
    def read_only(self) -> bool:
        return self.principal.is_readonly

    @property
    def roles(self) -> frozenset[str]:
        return self.principal.roles

    @property
    def scopes(self) -> frozenset[str]:
        return self.principal.scopes

    @property
    def api_key_id(self) -> str | None:
        return self.principal.api_key_id

    def may(self, permission: Permission) -> bool:
        return self.principal.may(permission)


async def get_caller(request: Request) -> Caller:
    # The principal asked for directly, not as a sub-dependency: one dependency fewer for
    # FastAPI to solve on every request (the scope guard has usually verified it already).
    return Caller(principal=await get_principal(request), token=bearer_token(request))


CurrentCaller = Annotated[Caller, Depends(get_caller)]


def require_permission(permission: Permission, action: str | None = None) -> Any:
    """Dependency: the caller's roles must grant ``permission`` (``swe_common.permissions``);
    else a 403 problem naming it. ``Annotated[Principal, require_permission(...)]``."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        perms.require(principal, permission, action)
        return principal

    return Depends(dependency)


# -- API-key scopes ------------------------------------------------------------------------
#
# An API key carries scopes ``<family>:<level>``; each service domain is one family (projects,
# issues, agents, analytics, gateway). Reading (GET, HEAD, OPTIONS, a WebSocket) needs
# ``<family>:read``, anything else ``<family>:write``; ``admin`` implies ``write``, which
# implies ``read``. An API key of an admin acts as an admin only where it holds
# ``<family>:admin`` (elsewhere with the ``user`` role's permissions). Auth's own routes
# (account, sessions, API keys, user administration) refuse API keys altogether: a leaked key
# must not mint keys or take over the account. User tokens (no ``api_key_id``) are not limited
# by scopes; their roles decide.

SCOPE_FAMILIES = ("projects", "issues", "agents", "analytics", "gateway")
SCOPE_LEVELS = ("read", "write", "admin")
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ScopeGuard:
    """The dependency every service router carries (``dependencies=[api_key_scope(...)]``).

    It only looks at API-key tokens: without credentials, or with a user's token, it lets the
    request through to the route's own checks. ``family=None`` refuses API keys.
    ``read_also`` names families whose ``:read`` scope also reads here (a lookup other
    services make with their caller's token). The verified principal is kept on the request
    for ``get_principal``."""

    def __init__(
        self,
        family: str | None,
        *,
        level: str | None = None,
        read_also: tuple[str, ...] = (),
    ) -> None:
        if level is not None and level not in SCOPE_LEVELS:
            raise ValueError(f"unknown scope level {level!r}")
        self.family = family
        self.level = level
        self.read_also = read_also

    def needed(self, method: str) -> str:
        if self.level is not None:
            return self.level
        return "read" if method in READ_METHODS else "write"

    async def __call__(self, connection: HTTPConnection) -> None:
        principal = await _presented_principal(connection)
        if principal is None:
            return
        if principal.api_key_id is None:
            connection.state.principal = principal  # verified once per request
            return
        websocket = connection.scope["type"] == "websocket"
        if self.family is None:
            _refuse(websocket, "API keys cannot be used here; sign in as the user", None)
        level = self.needed("GET" if websocket else connection.scope.get("method", "GET"))
        wanted = f"{self.family}:{level}"
        if not self._grants(principal.scopes, level):
            _refuse(websocket, f"This API key lacks the scope {wanted}", wanted)
        if "admin" in principal.roles and f"{self.family}:admin" not in principal.scopes:
            # Without the family's admin scope an admin's key acts as the user it also is.
            principal = replace(principal, roles=(principal.roles - {"admin"}) | {"user"})
        connection.state.principal = principal

    def _grants(self, scopes: frozenset[str], level: str) -> bool:
        enough = SCOPE_LEVELS[SCOPE_LEVELS.index(level) :]
        families = (self.family, *(self.read_also if level == "read" else ()))
        return any(f"{family}:{held}" in scopes for family in families for held in enough)


def api_key_scope(
    family: str | None, *, level: str | None = None, read_also: tuple[str, ...] = ()
) -> Any:
    """``APIRouter(dependencies=[api_key_scope("issues")])``: see ``ScopeGuard``."""
    return Depends(ScopeGuard(family, level=level, read_also=read_also))


def _refuse(websocket: bool, detail: str, missing: str | None) -> NoReturn:
    if websocket:
        # Before the handshake completes this answers 403; the reason is for logs and tests.
        raise WebSocketException(code=4403, reason=detail[:120])
    if missing is None:
        raise Forbidden(detail)
    raise Forbidden(detail, missing_scope=missing)


async def _presented_principal(connection: HTTPConnection) -> Principal | None:
    """The caller's principal when it presents a valid token (header, or a WebSocket's
    ``bearer.<token>`` subprotocol); None otherwise (the route's own checks then answer)."""
    token = bearer_token(connection)
    if token is None and connection.scope["type"] == "websocket":
        token, _ = websocket_subprotocol_token(connection.scope.get("subprotocols", []))
    verifier: TokenVerifier | None = getattr(connection.app.state, "token_verifier", None)
    if not token or verifier is None:
        return None
    try:
        return await verifier.verify(token)
    except InvalidToken:
        return None


def scope_guards(route: Any) -> list[ScopeGuard]:
    """The scope guards a route's dependencies carry (for the check that none was forgotten)."""
    found: list[ScopeGuard] = []
    pending = list(getattr(getattr(route, "dependant", None), "dependencies", []))
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, ScopeGuard):
            found.append(dependant.call)
        pending.extend(dependant.dependencies)
    return found
