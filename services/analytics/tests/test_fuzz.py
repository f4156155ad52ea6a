"""Schema-driven fuzzing (swe_common.fuzz) of the whole API with a real project mixed in: no
generated request, and no request with a NUL character or an out-of-range integer in any
input, gets a 5xx, as a user or as an admin; every error is problem+json."""

from __future__ import annotations

import uuid

import pytest

from swe_common.fuzz import fuzz
from swe_common.testing import bodies_not_request_models, unbounded_request_inputs

from .conftest import Env
from .factories import project_history

pytestmark = pytest.mark.asyncio


async def test_every_request_input_is_nul_free_length_capped_and_bounded(env: Env) -> None:
    assert unbounded_request_inputs(env.app.openapi()) == []
    assert bodies_not_request_models(env.app) == []


async def test_no_fuzzed_request_gets_a_server_error(env: Env) -> None:
    owner, project_id = uuid.uuid4(), uuid.uuid4()
    history = project_history(project_id, owner)
    await env.ingest(history)
    known = {"project_id": str(project_id), "agent_id": history[1].data["agent_id"]}
    callers = {"user": env.as_user(owner), "admin": env.as_admin()}
    failures = await fuzz(env.client, env.app.openapi(), callers, known)
    assert not failures, "\n".join(failures[:20])
