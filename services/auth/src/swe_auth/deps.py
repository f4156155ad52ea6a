"""Typed dependencies of auth's routes."""

from __future__ import annotations

import ipaddress
import uuid
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer

from swe_auth.context import Actor, ClientInfo
from swe_auth.runtime import AuthRuntime
from swe_common.errors import Forbidden, Unauthorized
from swe_common.permissions import Permission, require
from swe_common.security import CurrentPrincipal, Principal

# The dependencies below are ``async def`` although they never wait: FastAPI runs a plain
# ``def`` dependency in a worker thread, and each such hop (a queue, a thread wake-up, the
# loop woken back) cost a login more of the event loop's CPU than the dependency itself.


def runtime_of(request: Request) -> AuthRuntime:
    runtime: AuthRuntime = request.app.state.auth
    return runtime


async def get_runtime(request: Request) -> AuthRuntime:
    return runtime_of(request)


def client_ip(request: Request, trusted_proxies: list[str]) -> str:
    """The peer address, or the nearest untrusted X-Forwarded-For hop behind trusted proxies."""
    peer = request.client.host if request.client else ""
    if not trusted_proxies or not _in(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted_proxies):
            return hop[:64]
    return peer


def _in(address: str, networks: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in networks)


async def get_client(request: Request) -> ClientInfo:
    runtime = runtime_of(request)
    return ClientInfo(
        ip=client_ip(request, runtime.settings.trusted_proxies),
        user_agent=request.headers.get("user-agent", "")[:512],
    )


# Declares the password flow in OpenAPI so Swagger's Authorize button signs in through
# /token; verification itself is swe_common's (this scheme never rejects anything).
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
OAuth2Doc = Annotated[str | None, Depends(oauth2_scheme)]


async def user_principal(principal: CurrentPrincipal, _doc: OAuth2Doc) -> Principal:
    # Account management needs the person, not an API key acting for them.
    if principal.api_key_id is not None:
        raise Forbidden("API-key tokens cannot manage the account; sign in as the user")
    return principal


def parse_uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


async def get_actor(principal: Annotated[Principal, Depends(user_principal)]) -> Actor:
    user_id = principal.user_id
    if user_id is None:
        raise Unauthorized("The access token does not name a user")
    require(principal, Permission.ACCOUNT_SELF, "manage an account")
    return Actor(user_id=user_id, session_id=parse_uuid(principal.claims.get("sid")))


RuntimeDep = Annotated[AuthRuntime, Depends(get_runtime)]
ClientDep = Annotated[ClientInfo, Depends(get_client)]
UserPrincipal = Annotated[Principal, Depends(user_principal)]
ActorDep = Annotated[Actor, Depends(get_actor)]


async def get_admin(actor: ActorDep, principal: CurrentPrincipal) -> Actor:
    require(principal, Permission.USERS_ADMIN, "administer users")
    return actor


AdminDep = Annotated[Actor, Depends(get_admin)]
