"""An issue resolved by the resolver agent and delivered as a draft pull request, on the
running stack: a git repository with a missing function and a test of the function beside it,
the model's scripted answers for the whole pipeline (localize, four candidate edits, a
reproduction test), and the steps a person takes through the gateway (a project with its GitHub
token, a resolver agent that opens pull requests, an issue assigned to it)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from e2e_support import EVENT_TIMEOUT, RUN_TIMEOUT, commit, expect, git
from fake_internet import GITHUB_PROJECT_TOKEN, LLM_MODEL, FakeInternet

from swe_common.testing import eventually

CALC_PY = '''"""Arithmetic for the widgets."""


def add(a: int, b: int) -> int:
    return a + b
'''
TEST_CALC_PY = """from app.calc import add


def test_add():
    assert add(2, 3) == 5
"""
ISSUE = {
    "title": "Add subtraction",
    "description": "app/calc.py has add() but no sub(); sub(5, 3) should be 2.",
}
EDIT = """### app/calc.py
<<<<<<< SEARCH
def add(a: int, b: int) -> int:
    return a + b
=======
def add(a: int, b: int) -> int:
    return a + b


def sub(a: int, b: int) -> int:
    return a - b
>>>>>>> REPLACE
"""
REPRODUCTION = """```python
from app.calc import sub


def test_sub():
    assert sub(5, 3) == 2
```"""
# Suspicious files, elements, edit locations; four samples agreeing on one edit; the
# reproduction test (fails before the edit: no sub(); passes after).
SCRIPT = [
    "```\napp/calc.py\n```",
    "```\napp/calc.py::add\n```",
    "```\napp/calc.py:4-5\n```",
    *[EDIT] * 4,
    REPRODUCTION,
]


def resolver_repo(parent: Path) -> Path:
    """A fresh repository (a unique name: it is also the fake GitHub's ``local/<name>``)."""
    path = parent / f"widgets-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    git(path, "init", "--quiet", "--initial-branch", "main")
    commit(
        path,
        {"app/__init__.py": "", "app/calc.py": CALC_PY, "tests/test_calc.py": TEST_CALC_PY},
        "initial",
    )
    return path


@dataclass
class Assignment:
    project: dict[str, Any]
    agent: dict[str, Any]
    issue: dict[str, Any]
    run_id: str
    repository: str  # the fake GitHub's owner/name


@dataclass
class Resolution:
    project: dict[str, Any]
    issue: dict[str, Any]
    run: dict[str, Any]
    repository: str

    @property
    def pull_request(self) -> dict[str, Any]:
        outcome: dict[str, Any] = self.run["result"]["pull_request"]
        return outcome


async def assign_issue(
    http: httpx.AsyncClient,
    fakes: FakeInternet,
    parent: Path,
    *,
    refused: tuple[str, int] | None = None,
    hold: float = 0.0,
) -> Assignment:
    """A new project with its GitHub token and a resolver agent, an issue assigned to it; the
    run that starts. ``refused``: the Git Data call GitHub refuses and with what status
    ("POST /git/refs", 403); ``hold``: the model holds its answers that long at most, until
    ``fakes.release()``."""
    path = resolver_repo(parent)
    repository = fakes.mirror(path)
    if refused is not None:
        fakes.refuse(repository, *refused)
    project = expect(
        await http.post(
            "/api/v1/projects", json={"name": path.name, "repository_url": f"file://{path}"}
        ),
        201,
    )
    expect(
        await http.put(
            f"/api/v1/issues/projects/{project['id']}/github-token",
            json={"token": GITHUB_PROJECT_TOKEN},
        ),
        200,
    )
    agent = expect(
        await http.post(
            "/api/v1/agents",
            json={
                "project_id": project["id"],
                "name": "resolver",
                "type": "issue_resolver",
                "config": {
                    "base_url": fakes.provider.base_url,
                    "model": LLM_MODEL,
                    "open_pull_request": True,
                },
            },
        ),
        201,
    )
    issue = expect(
        await http.post("/api/v1/issues", json={"project_id": project["id"], **ISSUE}), 201
    )
    fakes.script(SCRIPT, hold)
    assign = await http.post(f"/api/v1/issues/{issue['id']}/assign", json={"agent_id": agent["id"]})
    issue = expect(assign, 200)

    async def started() -> list[dict[str, Any]]:
        runs = expect(await http.get(f"/api/v1/agents/{agent['id']}/runs"), 200)
        return list(runs["items"])

    runs = await eventually(started, timeout=30, interval=0.5)
    return Assignment(project, agent, issue, runs[0]["id"], repository)


async def delivery_of(http: httpx.AsyncClient, assigned: Assignment) -> Resolution:
    """Once the run has finished and its delivery is recorded (opened or failed)."""

    async def recorded() -> dict[str, Any] | None:
        found: dict[str, Any] = expect(
            await http.get(f"/api/v1/agents/runs/{assigned.run_id}"), 200
        )
        if found["status"] in ("failed", "cancelled"):
            raise AssertionError(f"the resolver run did not complete: {found}")
        outcome = (found.get("result") or {}).get("pull_request") or {}
        return found if outcome.get("status") in ("opened", "failed") else None

    run = await eventually(recorded, timeout=RUN_TIMEOUT + EVENT_TIMEOUT, interval=0.5)
    issue = expect(await http.get(f"/api/v1/issues/{assigned.issue['id']}"), 200)
    return Resolution(assigned.project, issue, run, assigned.repository)


async def resolve_issue(
    http: httpx.AsyncClient,
    fakes: FakeInternet,
    parent: Path,
    *,
    refused: tuple[str, int] | None = None,
) -> Resolution:
    """Everything from a new project to the run's recorded delivery."""
    assigned = await assign_issue(http, fakes, parent, refused=refused)
    return await delivery_of(http, assigned)
