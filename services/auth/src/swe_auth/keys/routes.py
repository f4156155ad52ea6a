"""The JWKS every verifier reads."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from swe_auth.deps import RuntimeDep
from swe_common.security import api_key_scope

router = APIRouter(prefix="/api/v1/auth", tags=["keys"], dependencies=[api_key_scope(None)])


@router.get("/.well-known/jwks.json", summary="Public signing keys by kid (RFC 7517)")
async def jwks(runtime: RuntimeDep, response: Response) -> dict[str, Any]:
    # Verifiers cache it; short enough that a rotation reaches them quickly anyway.
    response.headers["Cache-Control"] = "public, max-age=60"
    return await runtime.keyring.jwks()
