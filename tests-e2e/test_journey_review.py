"""Journey 2: a GitHub webhook announces a pull request and the review runs by itself.

The project asks for automatic reviews. A ``pull_request`` delivery in GitHub's shape, signed
with the project's webhook secret, reaches the gateway; the platform tracks the pull request,
reviews it with no one asking, and the review's line comments sit exactly on the lines the pull
request changed. The run's SARIF export validates against the SARIF 2.1.0 schema.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
from e2e_support import (
    HEAD_CLEAN_PY,
    RUN_TIMEOUT,
    EventLog,
    PlantedRepo,
    User,
    expect,
    line_of,
    pull_request_payload,
    signed_delivery,
)

from swe_common.testing import eventually

SARIF_SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())


async def test_a_webhook_pull_request_is_reviewed_on_exactly_its_changed_lines(
    make_user: Any, anonymous: httpx.AsyncClient, repo: PlantedRepo, events: EventLog
) -> None:
    user: User = await make_user("carol")
    project = expect(
        await user.http.post(
            "/api/v1/projects",
            json={
                "name": "reviewed-service",
                "repository_url": repo.url,
                "settings": {"auto_review": True, "review_level": "thorough"},
            },
        ),
        201,
    )
    secret = project["webhook_secret"]
    hook = project["webhook_path"]
    assert hook == f"/api/v1/projects/{project['id']}/webhooks/github"
    payload = pull_request_payload(repo, number=7, owner=user.username)

    # A delivery signed with another secret is refused; the real one is accepted.
    body, headers = signed_delivery("not-the-secret", "pull_request", payload)
    forged = await anonymous.post(hook, content=body, headers=headers)
    assert forged.status_code == 401, forged.text
    body, headers = signed_delivery(secret, "pull_request", payload)
    accepted = await anonymous.post(hook, content=body, headers=headers)
    assert accepted.status_code == 202, accepted.text

    # The pull request is tracked from the delivery...
    async def tracked() -> dict[str, Any] | None:
        page = expect(await user.http.get("/api/v1/prs", params={"project_id": project["id"]}), 200)
        return page["items"][0] if page["items"] else None

    pr = await eventually(tracked, timeout=30, interval=0.5)
    assert pr["number"] == 7 and pr["head_sha"] == repo.head_sha and pr["state"] == "open", pr
    assert pr["head_ref"] == repo.head_ref and pr["base_ref"] == "main"

    # ...and reviewed by itself.
    async def reviewed() -> dict[str, Any] | None:
        history = expect(await user.http.get(f"/api/v1/prs/{pr['id']}/review"), 200)
        latest = history["latest"]
        return latest if latest and latest["status"] != "pending" else None

    review = await eventually(reviewed, timeout=RUN_TIMEOUT, interval=1.0)
    assert review["status"] == "completed", review
    assert review["requested_by"] is None  # nobody asked: the project's auto_review did
    assert review["head_sha"] == repo.head_sha

    # Line comments on exactly the changed lines: every comment on one, and the planted
    # shell=True on the changed line where it is.
    comments = review["comments"]
    assert comments, review
    for comment in comments:
        assert comment["line"] in repo.changed.get(comment["path"], set()), comment
    popen_line = line_of(HEAD_CLEAN_PY, "Popen(cmd, shell=True)")
    assert ("app/clean.py", popen_line) in {(c["path"], c["line"]) for c in comments}, comments

    # A downstream consumer heard the review's outcome.
    heard = await events.wait_for("issues.pr.reviewed", pull_request_id=pr["id"])
    assert heard["data"]["comment_count"] == len(comments)

    # The run's SARIF export validates.
    assert review["run_id"], review
    response = await user.http.get(f"/api/v1/agents/runs/{review['run_id']}/sarif")
    sarif = expect(response, 200)
    assert response.headers["content-type"].startswith("application/sarif+json")
    _assert_valid_sarif(sarif)
    located = {
        (
            loc["physicalLocation"]["artifactLocation"]["uri"],
            loc["physicalLocation"]["region"]["startLine"],
        )
        for run in sarif["runs"]
        for result in run["results"]
        for loc in result["locations"]
    }
    assert any(uri.endswith("app/clean.py") and line == popen_line for uri, line in located)


def _assert_valid_sarif(sarif: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(SARIF_SCHEMA).validate(sarif)
    # What SARIF 2.1.0 requires, spelled out (the schema leaves some of it optional).
    assert sarif["version"] == "2.1.0"
    assert "sarif-schema-2.1.0" in sarif.get("$schema", "")
    assert sarif["runs"], "a SARIF log needs at least one run"
    for run in sarif["runs"]:
        assert run["tool"]["driver"]["name"]
        rules = run["tool"]["driver"].get("rules", [])
        for result in run["results"]:
            assert result["message"]["text"]
            assert result.get("ruleId") or "ruleIndex" in result
            if "ruleIndex" in result:
                assert result["ruleIndex"] < len(rules)
                assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
            assert result.get("level", "warning") in ("none", "note", "warning", "error")
            for location in result["locations"]:
                physical = location["physicalLocation"]
                assert physical["artifactLocation"]["uri"]
                assert physical["region"]["startLine"] >= 1
