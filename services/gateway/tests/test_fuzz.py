"""Schema-driven fuzzing (swe_common.fuzz) of the gateway's own API (admin, health, metrics) on
a gateway of its own: no generated request, and no request with a NUL character or an
out-of-range integer in any input, gets a 5xx, as a user or as an admin."""

from __future__ import annotations

from typing import Any

import httpx

from swe_common.fuzz import fuzz
from swe_common.testing import TokenFactory, bodies_not_request_models, unbounded_request_inputs
from swe_gateway.admin import AggregateHealth, build_admin_app


def admin_app() -> Any:
    # Only the document and the routes are looked at: no collaborator is needed.
    report = AggregateHealth(None, None)  # type: ignore[arg-type]
    return build_admin_app(None, None, None, report, None, None)  # type: ignore[arg-type]


def test_every_admin_input_is_nul_free_length_capped_and_bounded() -> None:
    app = admin_app()
    assert unbounded_request_inputs(app.openapi()) == []
    assert bodies_not_request_models(app) == []


async def test_no_fuzzed_admin_request_gets_a_server_error(
    start_gateway: Any, tokens: TokenFactory
) -> None:
    # A gateway of its own: the fuzzing registers instances the other tests must not see.
    gateway = await start_gateway()
    callers = {"user": tokens.headers(), "admin": tokens.headers(roles=("admin",))}
    async with httpx.AsyncClient(base_url=gateway.url, timeout=30) as client:
        failures = await fuzz(client, admin_app().openapi(), callers, {"name": "empty"})
    assert not failures, "\n".join(failures[:20])
