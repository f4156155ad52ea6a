"""Dependencies the routes share: the caller, the projects fallback, the GitHub client.

All of them are ``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, a
thread hop per request for what is an attribute read.
"""

from typing import Annotated

from fastapi import Depends, Request

from swe_common.crypto import SecretBox
from swe_common.projects_client import ProjectsClient
from swe_common.security import CurrentCaller
from swe_issues.github.client import GitHubClient


async def get_projects_client(request: Request) -> ProjectsClient:
    client: ProjectsClient = request.app.state.projects_client
    return client


async def get_github(request: Request) -> GitHubClient:
    github: GitHubClient = request.app.state.github
    return github


async def get_token_box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.github_token_box
    return box


# The caller with its bearer token (for the projects fallback): the common one.
CallerDep = CurrentCaller
TokenBoxDep = Annotated[SecretBox, Depends(get_token_box)]
ProjectsDep = Annotated[ProjectsClient, Depends(get_projects_client)]
GitHubDep = Annotated[GitHubClient, Depends(get_github)]
