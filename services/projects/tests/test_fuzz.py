"""Schema-driven fuzzing: no request generated from the OpenAPI document gets a 5xx."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation.modes import GenerationMode

from swe_common.testing import TokenFactory
from swe_projects.main import create_app
from swe_projects.settings import Settings


class ServerThread:
    """The app under uvicorn on an ephemeral port, in a thread with its own event loop."""

    def __init__(self, app: Any) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the projects app did not start")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="session")
def fuzz_target(settings: Settings, tokens: TokenFactory) -> Iterator[dict[str, Any]]:
    app = create_app(settings)
    app.state.token_verifier = tokens.verifier()
    user = uuid.uuid4()
    headers = tokens.headers(user)
    with ServerThread(app) as base_url:
        created = httpx.post(
            f"{base_url}/api/v1/projects",
            json={"name": "fuzz", "repository_url": "https://github.com/octocat/fuzz"},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        yield {
            "base_url": base_url,
            "headers": headers,
            "project_id": created.json()["id"],
            "schema": schemathesis.openapi.from_dict(app.openapi()),
        }


def test_no_generated_request_gets_a_server_error(fuzz_target: dict[str, Any]) -> None:
    operations = [result.ok() for result in fuzz_target["schema"].get_all_operations()]
    assert len(operations) >= 8
    exercised: list[tuple[str, GenerationMode]] = []
    for operation, mode in itertools.product(operations, GenerationMode):

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=15,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def no_server_error(case: Any) -> None:
            _call_without_server_error(case, fuzz_target)

        try:
            no_server_error()
        except Unsatisfiable:
            # Some operations have nothing that can be made invalid (no parameters, no body).
            assert mode is GenerationMode.NEGATIVE, operation.label
            continue
        exercised.append((operation.label, mode))
    assert len(exercised) > len(operations)


def _call_without_server_error(case: Any, target: dict[str, Any]) -> None:
    # Half the cases aim at a real project, so the fuzzing reaches past the 404.
    project_id = (case.path_parameters or {}).get("project_id")
    if project_id is not None and hash(str(project_id)) % 2 == 0:
        case.path_parameters["project_id"] = target["project_id"]
    # Random repository URLs are always refused, which would stop creation before the insert.
    if isinstance(case.body, dict) and hash(str(case.body)) % 2 == 0:
        case.body["repository_url"] = "https://github.com/octocat/fuzzed"
    response = case.call(base_url=target["base_url"], headers=target["headers"])
    assert response.status_code < 500, (case.method, case.formatted_path, response.text)
    if response.status_code >= 400:
        content_type = response.headers.get("content-type") or [""]
        assert content_type[0] == "application/problem+json", response.text
