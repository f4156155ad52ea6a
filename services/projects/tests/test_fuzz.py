"""Schema-driven fuzzing (swe_common.fuzz): no generated request, and no request with a NUL
character or an out-of-range integer in any input, gets a 5xx, as a user or as an admin."""

from __future__ import annotations

from swe_common.fuzz import fuzz
from swe_common.testing import bodies_not_request_models, unbounded_request_inputs
from swe_projects.main import create_app


def test_every_request_input_is_nul_free_length_capped_and_bounded(settings):
    app = create_app(settings)
    assert unbounded_request_inputs(app.openapi()) == []
    assert bodies_not_request_models(app) == []


async def test_no_fuzzed_request_gets_a_server_error(client, make_user, create_project):
    user, admin = make_user("user"), make_user("admin")
    project = await create_project(user)
    known = {
        "project_id": project["id"],
        "user_id": str(user.id),
        # Random repository URLs are refused before the insert this should reach.
        "repository_url": "https://github.com/octocat/fuzzed",
    }
    callers = {"user": user.headers, "admin": admin.headers}
    openapi = (await client.get("/openapi.json")).json()
    failures = await fuzz(client, openapi, callers, known)
    assert not failures, "\n".join(failures[:20])
