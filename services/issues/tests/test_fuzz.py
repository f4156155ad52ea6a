"""Schema-driven fuzzing of the whole OpenAPI (schemathesis): valid and invalid requests, with
real ids mixed in so that the operations reach the database, never get a 5xx, and every error
is problem+json."""

from __future__ import annotations

import contextlib
import random
from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

EXAMPLES_PER_MODE = 10
PROBLEM = "application/problem+json"


def generate_cases(spec: dict[str, Any]) -> list[Any]:
    schema = schemathesis.openapi.from_dict(spec)
    cases: list[Any] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_MODE,
                database=None,
                deadline=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def collect(case: Any) -> None:
                cases.append(case)

            # An operation without inputs has no invalid request to make.
            with contextlib.suppress(Unsatisfiable):
                collect()
    return cases


def with_real_ids(case: Any, ids: dict[str, str], rng: random.Random) -> None:
    """Point half of the cases at resources that exist, so they get past the 404s."""
    if rng.random() < 0.5:
        return
    for name in ("issue_id", "pr_id"):
        if name in (case.path_parameters or {}):
            case.path_parameters[name] = ids[name]
    if isinstance(case.body, dict) and "project_id" in case.body:
        case.body["project_id"] = ids["project_id"]
    if isinstance(case.query, dict) and "project_id" in case.query:
        case.query["project_id"] = ids["project_id"]


async def test_no_generated_request_gets_a_server_error(env, seed):
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
    ids = {"issue_id": issue.json()["id"], "pr_id": pr.json()["id"], "project_id": team.project_id}
    rng = random.Random(5)
    failures = []
    cases = generate_cases(env.app.openapi())
    assert len(cases) > 100
    # Deletions last, so the other operations still find the real resources.
    cases.sort(key=lambda case: case.method.upper() == "DELETE")
    for case in cases:
        with_real_ids(case, ids, rng)
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        headers = {**kwargs.get("headers", {}), **auth}
        response = await env.client.request(
            kwargs["method"],
            kwargs["url"],
            params=kwargs.get("params"),
            headers=headers,
            content=kwargs.get("data"),
            json=kwargs.get("json"),
        )
        problem = response.status_code >= 400 and not response.headers.get(
            "content-type", ""
        ).startswith(PROBLEM)
        if response.status_code >= 500 or problem:
            failures.append(f"{response.status_code} {case.as_curl_command()}")
    assert not failures, "\n".join(failures[:10])
