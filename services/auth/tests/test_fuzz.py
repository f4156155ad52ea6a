"""Schema-driven fuzzing (swe_common.fuzz) of the whole API, admin routes included: no
generated request, and no request with a NUL character or an out-of-range integer in any
input, gets a 5xx, as a user or as an admin; every error is problem+json."""

from __future__ import annotations

from typing import Any

import httpx
from auth_testkit import bearer

from swe_common.fuzz import fuzz
from swe_common.testing import bodies_not_request_models, unbounded_request_inputs

# Each ends the caller's session: they run after everything else.
SESSION_ENDERS = (
    "/api/v1/auth/logout",
    "/api/v1/auth/sessions",
    "/api/v1/auth/sessions/{session_id}",
)


def test_every_request_input_is_nul_free_length_capped_and_bounded(app: Any) -> None:
    assert unbounded_request_inputs(app.openapi()) == []
    assert bodies_not_request_models(app) == []


async def test_no_fuzzed_request_gets_a_server_error(
    app: Any,
    client: httpx.AsyncClient,
    user: dict[str, Any],
    tokens: dict[str, Any],
    admin: dict[str, Any],
) -> None:
    known = {"user_id": user["id"]}
    callers = {"user": bearer(tokens), "admin": bearer(admin["tokens"])}
    failures = await fuzz(client, app.openapi(), callers, known, last=SESSION_ENDERS)
    assert not failures, "\n".join(failures[:20])
