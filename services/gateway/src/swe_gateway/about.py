"""What the gateway tells about the platform: ``GET /info`` (name, version, commit, build time)
and ``GET /asyncapi.yaml`` (the domain events' AsyncAPI contract, next to ``/openapi.json``)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from swe_common.errors import NotFound
from swe_gateway.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[4]


class BuildInfo(BaseModel):
    name: str = Field(description="The platform")
    version: str = Field(description="The gateway package's version")
    commit: str | None = Field(description="The source commit it was built from, when known")
    build_time: str | None = Field(description="When the image was built (ISO 8601), when known")


@dataclass(frozen=True)
class About:
    info: BuildInfo
    asyncapi: bytes | None


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(  # noqa: S603 - fixed arguments, no user data
            ["git", *args],  # noqa: S607
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def load(settings: Settings) -> About:
    """Read once at start-up: an image passes its commit and build time in settings; a source
    checkout (``make up``) answers with its git commit and no build time."""
    try:
        package_version = version("swe-gateway")
    except PackageNotFoundError:
        package_version = "0.0.0"
    commit = settings.build_commit or _git("rev-parse", "HEAD")
    default = REPO_ROOT / "docs" / "asyncapi.yaml"
    path = Path(settings.asyncapi_file) if settings.asyncapi_file else default
    info = BuildInfo(
        name="swe-platform",
        version=package_version,
        commit=commit,
        build_time=settings.build_time or None,
    )
    return About(info=info, asyncapi=path.read_bytes() if path.is_file() else None)


def about_router(about: About) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/info")
    async def info() -> BuildInfo:
        return about.info

    @router.get("/asyncapi.yaml")
    async def asyncapi() -> Response:
        if about.asyncapi is None:
            raise NotFound("This gateway was started without the AsyncAPI document")
        return Response(about.asyncapi, media_type="application/yaml")

    return router
