"""Schema-driven fuzzing (swe_common.fuzz) of the whole API with real ids mixed in: no
generated request, and no request with a NUL character or an out-of-range integer in any
input, gets a 5xx, as a user or as an admin; every error is problem+json."""

from __future__ import annotations

from swe_common.fuzz import fuzz
from swe_common.testing import bodies_not_request_models, unbounded_request_inputs


def test_every_request_input_is_nul_free_length_capped_and_bounded(env):
    assert unbounded_request_inputs(env.app.openapi()) == []
    assert bodies_not_request_models(env.app) == []


async def test_no_fuzzed_request_gets_a_server_error(env, seed):
    team = await seed()
    auth = env.headers(team.owner)
    issue = await env.client.post(
        "/api/v1/issues", json={"project_id": team.project_id, "title": "fuzz"}, headers=auth
    )
    pr = await env.client.post(
        "/api/v1/prs",
        json={"project_id": team.project_id, "number": 1, "title": "fuzz"},
        headers=auth,
    )
    known = {
        "issue_id": issue.json()["id"],
        "pr_id": pr.json()["id"],
        "project_id": team.project_id,
    }
    callers = {"user": auth, "admin": env.headers(team.admin, roles=("admin",))}
    failures = await fuzz(env.client, env.app.openapi(), callers, known)
    assert not failures, "\n".join(failures[:20])
