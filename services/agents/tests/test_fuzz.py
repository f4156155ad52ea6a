"""Schema-driven fuzzing (swe_common.fuzz) of the whole API with real ids mixed in: no
generated request, and no request with a NUL character or an out-of-range integer in any
input, gets a 5xx, as a user or as an admin; every error is problem+json."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from swe_common.fuzz import fuzz
from swe_common.testing import TokenFactory, bodies_not_request_models, unbounded_request_inputs


def test_every_request_input_is_nul_free_length_capped_and_bounded(app: Any) -> None:
    assert unbounded_request_inputs(app.openapi()) == []
    assert bodies_not_request_models(app) == []


async def test_no_fuzzed_request_gets_a_server_error(
    app: Any, client: Any, tokens: TokenFactory, projects: Any, planted: Path
) -> None:
    owner = uuid.uuid4()
    user = tokens.headers(owner)
    project = await projects.create(owner, f"file://{planted}")
    agent = await client.post(
        "/api/v1/agents",
        json={"project_id": str(project), "name": "fuzz", "type": "code_analyzer"},
        headers=user,
    )
    assert agent.status_code == 201, agent.text
    run = await client.post(f"/api/v1/agents/{agent.json()['id']}/start", json={}, headers=user)
    assert run.status_code in (201, 202), run.text
    known = {"project_id": str(project), "agent_id": agent.json()["id"], "run_id": run.json()["id"]}
    callers = {"user": user, "admin": tokens.headers(uuid.uuid4(), roles=("admin",))}
    failures = await fuzz(client, app.openapi(), callers, known)
    assert not failures, "\n".join(failures[:20])
