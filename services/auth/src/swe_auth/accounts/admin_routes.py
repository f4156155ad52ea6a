"""User administration: list and search, roles, lock, unlock, disable, enable."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from swe_auth.accounts import repository, service
from swe_auth.accounts.routes import user_out
from swe_auth.accounts.schemas import AdminUserOut, Role, RolesUpdate
from swe_auth.deps import AdminDep, ClientDep, RuntimeDep
from swe_auth.models import User
from swe_auth.runtime import AuthRuntime
from swe_common.deps import SessionDep
from swe_common.pagination import Page, PageQuery, paginate
from swe_common.security import api_key_scope
from swe_common.types import Name

router = APIRouter(prefix="/api/v1/auth/admin", tags=["admin"], dependencies=[api_key_scope(None)])


def admin_out(user: User, runtime: AuthRuntime) -> AdminUserOut:
    return AdminUserOut(
        **user_out(user).model_dump(),
        locked=service.is_locked_now(user, runtime.clock()),
        admin_locked=user.admin_locked,
        locked_until=user.locked_until,
    )


@router.get("/users", response_model=Page[AdminUserOut], summary="List and search users")
async def list_users(
    _admin: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
    page: PageQuery,
    q: Annotated[Name | None, Query(description="Part of username, email or name")] = None,
    role: Role | None = None,
    active: bool | None = None,
) -> Page[AdminUserOut]:
    return await paginate(
        session,
        repository.search_statement(q, role, active),
        page,
        allowed_sort=repository.SORTABLE,
        default_sort=[User.created_at.desc(), User.id],
        to_item=lambda user: admin_out(user, runtime),
    )


@router.get("/users/{user_id}", response_model=AdminUserOut, summary="One user")
async def get_user(
    user_id: uuid.UUID, _admin: AdminDep, session: SessionDep, runtime: RuntimeDep
) -> AdminUserOut:
    return admin_out(await service.get_user(session, user_id), runtime)


@router.put("/users/{user_id}/roles", response_model=AdminUserOut, summary="Set a user's roles")
async def set_roles(
    user_id: uuid.UUID,
    body: RolesUpdate,
    admin: AdminDep,
    session: SessionDep,
    runtime: RuntimeDep,
    client: ClientDep,
) -> AdminUserOut:
    user = await service.set_roles(session, runtime, admin, user_id, list(body.roles), client)
    return admin_out(user, runtime)


@router.post("/users/{user_id}/lock", response_model=AdminUserOut, summary="Lock an account")
async def lock(
    user_id: uuid.UUID, admin: AdminDep, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> AdminUserOut:
    return admin_out(await service.lock(session, runtime, admin, user_id, client), runtime)


@router.post("/users/{user_id}/unlock", response_model=AdminUserOut, summary="Unlock an account")
async def unlock(
    user_id: uuid.UUID, admin: AdminDep, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> AdminUserOut:
    return admin_out(await service.unlock(session, runtime, admin, user_id, client), runtime)


@router.post("/users/{user_id}/disable", response_model=AdminUserOut, summary="Disable an account")
async def disable(
    user_id: uuid.UUID, admin: AdminDep, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> AdminUserOut:
    return admin_out(
        await service.set_active(session, runtime, admin, user_id, False, client), runtime
    )


@router.post("/users/{user_id}/enable", response_model=AdminUserOut, summary="Enable an account")
async def enable(
    user_id: uuid.UUID, admin: AdminDep, session: SessionDep, runtime: RuntimeDep, client: ClientDep
) -> AdminUserOut:
    return admin_out(
        await service.set_active(session, runtime, admin, user_id, True, client), runtime
    )
