"""Typed dependencies of the agents routes (HTTP and WebSocket): the service's settings, its
database, the projects fallback and the token verifier, read from the app once here instead of
``request.app.state`` in each route.

All of them are ``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, a
thread hop per request for what is an attribute read.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from swe_agents.agents.service import ProjectLookup
from swe_agents.settings import Settings
from swe_common.db import Database
from swe_common.projects_client import ProjectsClient
from swe_common.projects_read_model import ProjectSnapshot
from swe_common.security import TokenVerifier, bearer_token


async def get_settings(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


async def get_db(connection: HTTPConnection) -> Database:
    db: Database = connection.app.state.db
    return db


async def get_token_verifier(connection: HTTPConnection) -> TokenVerifier:
    verifier: TokenVerifier = connection.app.state.token_verifier
    return verifier


async def get_projects_client(connection: HTTPConnection) -> ProjectsClient:
    client: ProjectsClient = connection.app.state.projects_client
    return client


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
TokenVerifierDep = Annotated[TokenVerifier, Depends(get_token_verifier)]
ProjectsClientDep = Annotated[ProjectsClient, Depends(get_projects_client)]


async def get_project_lookup(
    connection: HTTPConnection, client: ProjectsClientDep
) -> ProjectLookup | None:
    """Ask projects, with the caller's own token, about a project not known here yet."""
    token = bearer_token(connection)
    if token is None:
        return None

    async def lookup(project_id: uuid.UUID) -> ProjectSnapshot | None:
        return await client.fetch(project_id, token)

    return lookup


ProjectLookupDep = Annotated[ProjectLookup | None, Depends(get_project_lookup)]
