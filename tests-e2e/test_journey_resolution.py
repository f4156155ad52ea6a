"""Journey: an issue assigned to the resolver agent ends as a draft pull request on GitHub.

On the running stack, through the gateway: a project with its own GitHub token, a resolver
agent that opens pull requests, an issue assigned to it. The worker resolves the issue (the
model is a fake OpenAI-compatible provider playing scripted answers; the repository's tests run
in the worker's sandbox), the issues service delivers the patch through GitHub's Git Data API
(a fake GitHub that checks every call's shape and token: blobs, tree, commit, ref, then the
draft pull request), the agents service records the outcome in the run, and the issue moves to
in_review. When GitHub refuses, the run says why and the issue stays where it was.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from e2e_support import EventLog, Stack, User
from fake_internet import GITHUB_PROJECT_TOKEN, FakeInternet
from resolution_support import resolve_issue

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("E2E_BASE_URL")),
    reason="needs the fake GitHub and model provider of a stack these tests start",
)


async def test_an_assigned_issue_becomes_a_draft_pull_request_and_the_issue_is_in_review(
    stack: Stack,
    make_user: Any,
    fake_internet: FakeInternet,
    events: EventLog,
    tmp_path: Path,
) -> None:
    user: User = await make_user("resolve")
    done = await resolve_issue(user.http, fake_internet, tmp_path)

    outcome = done.pull_request
    owner, name = done.repository.split("/")
    github = fake_internet.github
    pull = next(p for (o, r, _), p in github.pulls.items() if (o, r) == (owner, name))
    assert outcome["status"] == "opened", outcome
    assert (outcome["number"], outcome["url"]) == (pull["number"], pull["html_url"])
    assert outcome["url"] == f"https://github.com/{owner}/{name}/pull/{pull['number']}"
    assert done.issue["status"] == "in_review", done.issue

    # What GitHub holds: a draft from the run's branch into main, the patch on the branch, the
    # issue and the evidence in its description.
    assert pull["draft"] is True and pull["base"]["ref"] == "main"
    assert pull["head"]["ref"] == outcome["branch"]
    files = github.files_at(owner, name, outcome["branch"])
    assert "def sub(a: int, b: int) -> int:" in files["app/calc.py"]
    assert files["tests/test_calc.py"] == github.files_at(owner, name, "main")["tests/test_calc.py"]
    assert "Add subtraction" in pull["title"]
    # Every call carried the project's own token, in the header only.
    calls = [r for r in github.requests if r["path"].startswith(f"/repos/{owner}/{name}/")]
    assert [(r["method"], r["path"].split(f"/{name}/", 1)[1]) for r in calls[-4:]] == [
        ("POST", "git/trees"),
        ("POST", "git/commits"),
        ("POST", "git/refs"),
        ("POST", "pulls"),
    ]
    assert all(r["headers"]["Authorization"] == f"Bearer {GITHUB_PROJECT_TOKEN}" for r in calls)
    assert not any(GITHUB_PROJECT_TOKEN in r["path"] for r in github.requests)

    # The evidence the run keeps: the reproduction test failed before and passes after, the
    # repository's own test still passes.
    evidence = done.run["result"]["evidence"]
    assert any("test_sub" in t for t in evidence["fail_to_pass"]), evidence
    assert any("test_add" in t for t in evidence["pass_to_pass"]), evidence

    # The issues service told the others: a pull request tracked and linked to the issue.
    delivered = await events.wait_for("issues.resolution.delivered", run_id=done.run["id"])
    assert delivered["data"]["url"] == outcome["url"]
    prs = (await user.http.get("/api/v1/prs", params={"project_id": done.project["id"]})).json()
    assert [p["number"] for p in prs["items"]] == [pull["number"]], prs


async def test_a_refused_delivery_shows_githubs_reason_and_the_issue_is_not_in_review(
    stack: Stack,
    make_user: Any,
    fake_internet: FakeInternet,
    events: EventLog,
    tmp_path: Path,
) -> None:
    user: User = await make_user("refused")
    done = await resolve_issue(user.http, fake_internet, tmp_path, refused=("POST /git/refs", 403))

    outcome = done.pull_request
    assert outcome["status"] == "failed", outcome
    assert outcome["github_status"] == 403
    assert "Resource not accessible by integration" in outcome["error"], outcome
    assert outcome["url"] is None and outcome["number"] is None
    assert done.issue["status"] != "in_review", done.issue
    owner, name = done.repository.split("/")
    assert not [p for (o, r, _), p in fake_internet.github.pulls.items() if (o, r) == (owner, name)]
    # The patch stays with the run: nothing is lost, a person can still apply it.
    assert "def sub(" in outcome["files"]["app/calc.py"]
    failed = await events.wait_for("issues.resolution.delivery_failed", run_id=done.run["id"])
    assert failed["data"]["github_status"] == 403
