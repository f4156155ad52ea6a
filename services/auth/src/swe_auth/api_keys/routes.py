"""API keys: create (secret shown once), list, revoke, exchange for an access token."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Header, status

from swe_auth.api_keys import repository, service
from swe_auth.api_keys.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyOut,
    ExchangeRequest,
    ExchangeResponse,
    PresentedKey,
)
from swe_auth.deps import ActorDep, ClientDep, RuntimeDep
from swe_auth.models import ApiKey
from swe_common.deps import SessionDep
from swe_common.errors import Unauthorized
from swe_common.pagination import Page, PageQuery, paginate
from swe_common.permissions import Permission
from swe_common.security import CurrentPrincipal, api_key_scope

router = APIRouter(
    prefix="/api/v1/auth/api-keys", tags=["api-keys"], dependencies=[api_key_scope(None)]
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    summary="Create an API key",
)
async def create_key(
    body: ApiKeyCreate, actor: ActorDep, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> ApiKeyCreated:
    created = await service.create(
        session,
        runtime,
        actor,
        body.name,
        list(body.scopes),
        body.expires_at,
        client,
        rate_limits={str(w): n for w, n in body.rate_limits.items()} if body.rate_limits else None,
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(created.key).model_dump(), key=created.secret)


@router.get("", response_model=Page[ApiKeyOut], summary="My API keys (never their secrets)")
async def list_keys(
    actor: ActorDep, session: SessionDep, page: PageQuery, include_revoked: bool = False
) -> Page[ApiKeyOut]:
    return await paginate(
        session,
        repository.list_statement(actor.user_id, include_revoked),
        page,
        allowed_sort=repository.SORTABLE,
        default_sort=[ApiKey.created_at.desc(), ApiKey.id],
        to_item=ApiKeyOut.model_validate,
    )


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Revoke an API key")
async def revoke_key(
    key_id: uuid.UUID,
    actor: ActorDep,
    principal: CurrentPrincipal,
    session: SessionDep,
    runtime: RuntimeDep,
    client: ClientDep,
) -> None:
    await service.revoke(
        session,
        runtime,
        actor,
        key_id,
        is_admin=principal.may(Permission.API_KEYS_ADMIN),
        client=client,
    )


@router.post(
    "/exchange",
    response_model=ExchangeResponse,
    responses={401: {"description": "The key is invalid, expired or revoked"}},
    summary="Trade an API key (X-API-Key header or JSON body) for a short-lived access token",
)
async def exchange(
    session: SessionDep,
    runtime: RuntimeDep,
    x_api_key: Annotated[PresentedKey | None, Header()] = None,
    body: Annotated[ExchangeRequest | None, Body()] = None,
) -> ExchangeResponse:
    presented = x_api_key or (body.api_key if body else None)
    if not presented:
        raise Unauthorized("Send the API key in the X-API-Key header")
    token = await service.exchange(session, runtime, presented)
    return ExchangeResponse(access_token=token.token, expires_in=token.expires_in)
