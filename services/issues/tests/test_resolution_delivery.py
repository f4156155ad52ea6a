"""An issue_resolver run's validated patch becomes a branch and a draft pull request on GitHub
(the fake GitHub speaks the Git Data API and checks every request's shape and token); the
issue moves to in_review through events; GitHub's refusals end as delivery_failed, never lost.
Events go through the real RabbitMQ."""

from __future__ import annotations

import uuid
from typing import Any

from swe_common.testing import eventually

from .conftest import GITHUB_TOKEN

PROJECT_TOKEN = "ghp_project_own_token_1234"
STATS = "def median(values):\n    return sorted(values)[len(values) // 2]\n"
FIXED = (
    "def median(values):\n    ordered = sorted(values)\n    mid = len(ordered) // 2\n"
    "    if len(ordered) % 2 == 0:\n        return (ordered[mid - 1] + ordered[mid]) / 2\n"
    "    return ordered[mid]\n"
)
REPRO = "from calc.stats import median\n\n\ndef test_even():\n    assert median([1, 2]) == 1.5\n"


def repository(env: Any, owner: str = "acme") -> tuple[str, str, str]:
    """A repository of its own on the fake GitHub (the fake lives for the whole session)."""
    name = f"widgets-{uuid.uuid4().hex[:8]}"
    base = env.github.add_repository(
        owner, name, {"calc/stats.py": STATS, "README.md": "# widgets\n"}
    )
    return owner, name, base


async def project_with_issue(
    env: Any, seed: Any, *, token: str | None = PROJECT_TOKEN, file_repository: bool = False
) -> Any:
    """``file_repository``: the project is ``file:///srv/git/<name>`` (development and tests),
    which stands for GitHub's ``local/<name>``."""
    owner, name, base = repository(env, "local" if file_repository else "acme")
    env.github.accepted.add(PROJECT_TOKEN)
    url = f"file:///srv/git/{name}" if file_repository else f"https://github.com/{owner}/{name}"
    team = await seed(repository_url=url)
    if token is not None:
        r = await env.client.put(
            f"/api/v1/issues/projects/{team.project_id}/github-token",
            json={"token": token},
            headers=env.headers(team.owner),
        )
        assert r.status_code == 200, r.text
    r = await env.client.post(
        "/api/v1/issues",
        json={"project_id": team.project_id, "title": "median is wrong", "github_number": 42},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 201, r.text
    issue = r.json()
    r = await env.client.patch(
        f"/api/v1/issues/{issue['id']}",
        json={"status": "in_progress"},
        headers=env.headers(team.owner),
    )
    assert r.status_code == 200, r.text
    return team, issue, name, base


def completed_run(team: Any, issue: dict[str, Any], base: str, **request: Any) -> dict[str, Any]:
    run_id = str(uuid.uuid4())
    pull_request = {
        "status": "requested",
        "branch": f"agent/issue-{issue['id'][:8]}-{run_id[:8]}",
        "base_ref": "main",
        "base_commit": base,
        "title": "Resolve: median is wrong",
        "body": "Validated in a sandbox: 1 test fails before and passes after.",
        "message": "Resolve: median is wrong",
        "files": {"calc/stats.py": FIXED, "test_swe_reproduction.py": REPRO},
        **request,
    }
    return {
        "run_id": run_id,
        "agent_id": str(uuid.uuid4()),
        "agent_type": "issue_resolver",
        "project_id": team.project_id,
        "status": "completed",
        "exit_reason": None,
        "trigger": {"kind": "issue", "issue_id": issue["id"], "ref": "main"},
        "queued_at": "2026-12-03T10:00:00Z",
        "started_at": "2026-12-03T10:00:01Z",
        "finished_at": "2026-12-03T10:02:00Z",
        "duration_ms": 119000,
        "result": {"summary": "patch", "resolved": True, "pull_request": pull_request},
    }


async def issue_now(env: Any, team: Any, issue: dict[str, Any]) -> dict[str, Any]:
    r = await env.client.get(f"/api/v1/issues/{issue['id']}", headers=env.headers(team.owner))
    body: dict[str, Any] = r.json()
    return body


async def test_a_validated_patch_opens_a_draft_pull_request_and_the_issue_goes_in_review(env, seed):
    team, issue, repo, base = await project_with_issue(env, seed)
    data = completed_run(team, issue, base)
    branch = data["result"]["pull_request"]["branch"]
    await env.bus.publish("agents.run.completed", data, subject=data["run_id"])

    delivered = await env.bus.wait_for("issues.resolution.delivered", run_id=data["run_id"])
    pull = env.github.pulls[("acme", repo, delivered["data"]["number"])]
    assert delivered["data"] == {
        "run_id": data["run_id"],
        "project_id": team.project_id,
        "issue_id": issue["id"],
        "pull_request_id": delivered["data"]["pull_request_id"],
        "number": pull["number"],
        "url": f"https://github.com/acme/{repo}/pull/{pull['number']}",
        "branch": branch,
    }
    # What GitHub was asked, in order, each with the project's own token in the header only.
    sent = [r for r in env.github.requests if f"/repos/acme/{repo}/" in r["path"]]
    assert [(r["method"], r["path"].split(f"/repos/acme/{repo}/")[1]) for r in sent] == [
        ("GET", "pulls"),
        ("GET", "git/ref/heads/main"),
        ("GET", f"git/commits/{base}"),
        ("POST", "git/blobs"),
        ("POST", "git/blobs"),
        ("POST", "git/trees"),
        ("POST", "git/commits"),
        ("POST", "git/refs"),
        ("POST", "pulls"),
    ]
    assert all(r["headers"]["Authorization"] == f"Bearer {PROJECT_TOKEN}" for r in sent)
    assert all(r["headers"]["X-GitHub-Api-Version"] == "2022-11-28" for r in sent)
    assert all(PROJECT_TOKEN not in r["path"] + str(r["query"]) for r in sent)
    assert sent[0]["query"] == {"head": f"acme:{branch}", "state": "all"}
    commit = sent[6]["body"]
    assert commit["parents"] == [base] and commit["message"] == "Resolve: median is wrong"
    assert sent[7]["body"]["ref"] == f"refs/heads/{branch}"
    opened = sent[8]["body"]
    assert opened["draft"] is True
    assert (opened["head"], opened["base"], opened["title"]) == (
        branch,
        "main",
        "Resolve: median is wrong",
    )
    assert "Fixes #42" in opened["body"] and "Validated in a sandbox" in opened["body"]
    # The branch holds the base's files with the patch on top: what a reviewer checks out.
    assert env.github.files_at("acme", repo, branch) == {
        "README.md": "# widgets\n",
        "calc/stats.py": FIXED,
        "test_swe_reproduction.py": REPRO,
    }
    assert pull["draft"] is True

    now = await issue_now(env, team, issue)
    assert now["status"] == "in_review"
    assert now["pull_request_id"] == delivered["data"]["pull_request_id"]
    updated = await env.bus.wait_for("issues.issue.updated", id=issue["id"], status="in_review")
    assert updated["data"]["project_id"] == team.project_id
    r = await env.client.get(
        f"/api/v1/prs/{now['pull_request_id']}", headers=env.headers(team.viewer)
    )
    assert (r.json()["number"], r.json()["draft"], r.json()["head_ref"]) == (
        pull["number"],
        True,
        branch,
    )
    r = await env.client.get(
        "/api/v1/issues",
        params={"project_id": team.project_id, "status": "in_review"},
        headers=env.headers(team.viewer),
    )
    assert [i["id"] for i in r.json()["items"]] == [issue["id"]]


async def test_a_redelivered_completion_opens_no_second_pull_request(env, seed):
    team, issue, repo, base = await project_with_issue(env, seed)
    data = completed_run(team, issue, base)
    await env.bus.publish("agents.run.completed", data, subject=data["run_id"])
    first = await env.bus.wait_for("issues.resolution.delivered", run_id=data["run_id"])
    # The same run's completion again (a new event id: the inbox does not know it).
    await env.bus.publish("agents.run.completed", data, subject=data["run_id"])

    async def twice() -> list[dict[str, Any]] | None:
        found = env.bus.events("issues.resolution.delivered", run_id=data["run_id"])
        return found if len(found) == 2 else None

    both = await eventually(twice, timeout=10)
    assert {e["data"]["number"] for e in both} == {first["data"]["number"]}
    assert [n for (o, r, n) in env.github.pulls if (o, r) == ("acme", repo)] == [
        first["data"]["number"]
    ]
    sent = [r for r in env.github.requests if r["path"] == f"/repos/acme/{repo}/git/refs"]
    assert len(sent) == 1


async def test_without_any_token_nothing_is_sent_and_the_delivery_fails_saying_so(
    env, seed, monkeypatch
):
    team, issue, repo, base = await project_with_issue(env, seed, token=None)
    # Neither the project's token nor the platform's.
    monkeypatch.setattr(env.app.state.delivery, "platform_token", None)
    data = completed_run(team, issue, base)
    await env.bus.publish("agents.run.completed", data, subject=data["run_id"])
    failed = await env.bus.wait_for("issues.resolution.delivery_failed", run_id=data["run_id"])
    assert failed["data"]["github_status"] is None
    assert "no GitHub token" in failed["data"]["error"]
    assert not [r for r in env.github.requests if f"/repos/acme/{repo}/" in r["path"]]
    assert (await issue_now(env, team, issue))["status"] == "in_progress"


async def test_the_platform_token_is_used_when_the_project_has_none(env, seed):
    team, issue, repo, base = await project_with_issue(env, seed, token=None)
    data = completed_run(team, issue, base)
    await env.bus.publish("agents.run.completed", data, subject=data["run_id"])
    await env.bus.wait_for("issues.resolution.delivered", run_id=data["run_id"])
    sent = [r for r in env.github.requests if f"/repos/acme/{repo}/" in r["path"]]
    assert {r["headers"]["Authorization"] for r in sent} == {f"Bearer {GITHUB_TOKEN}"}


async def test_a_refused_token_ends_as_a_delivery_failure_with_githubs_answer(env, seed):
    team, issue, repo, base = await project_with_issue(env, seed, token="ghp_revoked_token")
    data = completed_run(team, issue, base)
    await env.bus.publish("agents.run.completed", data, subject=data["run_id"])
    failed = await env.bus.wait_for("issues.resolution.delivery_failed", run_id=data["run_id"])
    assert failed["data"]["github_status"] == 401
    assert "Bad credentials" in failed["data"]["error"]
    assert failed["data"]["branch"] == data["result"]["pull_request"]["branch"]
    assert "ghp_revoked_token" not in str(failed)
    assert (await issue_now(env, team, issue))["status"] == "in_progress"
    assert ("acme", repo) not in {(o, r) for (o, r, _) in env.github.pulls}


async def test_an_existing_branch_422_and_a_github_outage_500_end_as_delivery_failures(env, seed):
    for key, status, said in (
        ("POST /git/refs", 422, "Reference already exists"),
        ("POST /git/trees", 502, "Server Error"),
    ):
        team, issue, _repo, base = await project_with_issue(env, seed)
        env.github.failures[key] = status
        try:
            data = completed_run(team, issue, base)
            await env.bus.publish("agents.run.completed", data, subject=data["run_id"])
            failed = await env.bus.wait_for(
                "issues.resolution.delivery_failed", run_id=data["run_id"]
            )
        finally:
            env.github.failures.pop(key)
        assert failed["data"]["github_status"] == status
        assert said in failed["data"]["error"] and key.split()[1] in failed["data"]["error"]
        assert (await issue_now(env, team, issue))["status"] == "in_progress"


async def test_a_run_that_asked_for_no_pull_request_sends_nothing_to_github(env, seed):
    team, issue, repo, base = await project_with_issue(env, seed)
    data = completed_run(team, issue, base)
    del data["result"]["pull_request"]
    marker = completed_run(team, issue, base)
    # One subject: the consumer handles them in this order; the marker's delivery says both
    # were handled.
    await env.bus.publish("agents.run.completed", data, subject=issue["id"])
    await env.bus.publish("agents.run.completed", marker, subject=issue["id"])
    await env.bus.wait_for("issues.resolution.delivered", run_id=marker["run_id"])
    assert not env.bus.events("issues.resolution.delivered", run_id=data["run_id"])
    assert not env.bus.events("issues.resolution.delivery_failed", run_id=data["run_id"])
    pulls = [r for r in env.github.requests if r["path"] == f"/repos/acme/{repo}/pulls"]
    assert [r["method"] for r in pulls] == ["GET", "POST"]  # the marker's delivery only


async def test_a_request_whose_values_would_leave_its_urls_is_refused_before_github(env, seed):
    team, issue, repo, _base = await project_with_issue(env, seed)
    data = completed_run(team, issue, "../../../user/repos")
    await env.bus.publish("agents.run.completed", data, subject=data["run_id"])
    failed = await env.bus.wait_for("issues.resolution.delivery_failed", run_id=data["run_id"])
    assert "is not a commit id" in failed["data"]["error"]
    assert failed["data"]["github_status"] is None
    assert not [r for r in env.github.requests if f"/repos/acme/{repo}/" in r["path"]]


async def test_a_file_repository_is_delivered_as_local_name_only_where_allowed(
    env, seed, monkeypatch
):
    team, issue, repo, base = await project_with_issue(env, seed, file_repository=True)
    refused = completed_run(team, issue, base)
    await env.bus.publish("agents.run.completed", refused, subject=refused["run_id"])
    failed = await env.bus.wait_for("issues.resolution.delivery_failed", run_id=refused["run_id"])
    assert "is not a GitHub repository" in failed["data"]["error"]
    assert not [r for r in env.github.requests if f"/repos/local/{repo}/" in r["path"]]

    # ISSUES_ALLOW_FILE_REPOSITORIES (the e2e stack's): the fake GitHub's local/<name>.
    monkeypatch.setattr(env.app.state.delivery, "allow_file", True)
    data = completed_run(team, issue, base)
    await env.bus.publish("agents.run.completed", data, subject=data["run_id"])
    delivered = await env.bus.wait_for("issues.resolution.delivered", run_id=data["run_id"])
    assert (
        delivered["data"]["url"]
        == f"https://github.com/local/{repo}/pull/{delivered['data']['number']}"
    )
    assert (await issue_now(env, team, issue))["status"] == "in_review"
