"""Runs through the real work queue and worker: results, logs, events, cancel, timeout, caps."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from swe_common.testing import TokenFactory, eventually

from .conftest import wait_run
from .gitrepo import RESOLVER_SCRIPT
from .sarif_checks import assert_github_requirements
from .test_resolver_pipeline import (
    BREAKS_REGRESSION,
    GOOD,
    GOOD_RESTYLED,
    LOCALIZE,
    REPRO,
    stats_repo,
)
from .test_resolver_pipeline import ISSUE as RESOLVER_ISSUE

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def setup(client: Any, tokens: TokenFactory, projects: Any, planted: Path) -> dict[str, Any]:
    owner = uuid.uuid4()
    project = await projects.create(owner, f"file://{planted}")
    headers = tokens.headers(owner)

    async def agent(type_: str, **config: Any) -> str:
        body = {
            "project_id": str(project),
            "name": f"a-{uuid.uuid4().hex[:6]}",
            "type": type_,
            "config": config,
        }
        response = await client.post("/api/v1/agents", json=body, headers=headers)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    return {"owner": owner, "project": project, "headers": headers, "agent": agent}


async def start(client: Any, setup: dict[str, Any], agent_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(
        f"/api/v1/agents/{agent_id}/start", json=body, headers=setup["headers"]
    )
    assert response.status_code == 202, response.text
    return response.json()


ISSUE = {"issue": {"title": "Add subtraction", "description": "app/clean.py needs sub()"}}


async def test_code_analyzer_run_completes_with_its_report(
    client: Any, setup: dict[str, Any]
) -> None:
    agent = await setup["agent"]("code_analyzer")
    run = await start(client, setup, agent)
    assert run["status"] == "pending"
    done = await wait_run(client, setup["headers"], run["id"], "completed", "failed")
    assert done["status"] == "completed", done
    assert done["exit_reason"] is None
    assert done["started_at"] and done["finished_at"] and done["duration_ms"] >= 0
    assert done["result"]["quality"]["formula_version"] == "2"
    assert {f["rule"] for f in done["result"]["security"]} >= {"B602", "B307"}


async def test_run_logs_have_gapless_sequence_numbers_and_name_the_tools(
    client: Any, setup: dict[str, Any]
) -> None:
    agent = await setup["agent"]("code_analyzer")
    run = await start(client, setup, agent)
    await wait_run(client, setup["headers"], run["id"], "completed", "failed")
    logs = (
        await client.get(f"/api/v1/agents/runs/{run['id']}/logs", headers=setup["headers"])
    ).json()
    seqs = [line["seq"] for line in logs["items"]]
    assert seqs == list(range(1, len(seqs) + 1))
    text = " ".join(line["message"] for line in logs["items"])
    assert "ruff" in text and "bandit" in text and "radon" in text
    later = await client.get(
        f"/api/v1/agents/runs/{run['id']}/logs", params={"since": 2}, headers=setup["headers"]
    )
    assert [line["seq"] for line in later.json()["items"]] == seqs[2:]


async def test_completed_run_publishes_started_and_completed_events(
    client: Any, setup: dict[str, Any], captured: list[dict[str, Any]]
) -> None:
    agent = await setup["agent"]("code_analyzer")
    run = await start(client, setup, agent)
    await wait_run(client, setup["headers"], run["id"], "completed")

    async def types() -> set[str]:
        return {e["type"] for e in captured if e["data"].get("run_id") == run["id"]}

    await eventually(
        lambda: _has(types, {"agents.run.queued", "agents.run.started", "agents.run.completed"}),
        timeout=15,
    )
    completed = next(
        e
        for e in captured
        if e["type"] == "agents.run.completed" and e["data"]["run_id"] == run["id"]
    )
    assert (
        completed["data"]["result"]["quality_score"]
        == completed["data"]["result"]["quality"]["score"]
    )
    assert completed["data"]["agent_type"] == "code_analyzer"


async def _has(probe: Any, wanted: set[str]) -> bool:
    return wanted <= await probe()


async def test_cancel_stops_a_running_run_within_seconds(
    client: Any, setup: dict[str, Any], provider: Any
) -> None:
    provider.reset(RESOLVER_SCRIPT, delay=30)
    agent = await setup["agent"]("issue_resolver")
    run = await start(client, setup, agent, **ISSUE)
    await wait_run(client, setup["headers"], run["id"], "running")
    await eventually(lambda: _provider_called(provider), timeout=20)
    response = await client.post(
        f"/api/v1/agents/runs/{run['id']}/cancel", headers=setup["headers"]
    )
    assert response.status_code == 202
    done = await wait_run(
        client, setup["headers"], run["id"], "cancelled", "failed", "completed", timeout=5
    )
    assert (done["status"], done["exit_reason"]) == ("cancelled", "cancelled")


async def _provider_called(provider: Any) -> bool:
    return bool(provider.requests)


async def test_cancelling_a_finished_run_is_a_conflict(client: Any, setup: dict[str, Any]) -> None:
    agent = await setup["agent"]("code_analyzer")
    run = await start(client, setup, agent)
    await wait_run(client, setup["headers"], run["id"], "completed", "failed")
    response = await client.post(
        f"/api/v1/agents/runs/{run['id']}/cancel", headers=setup["headers"]
    )
    assert response.status_code == 409


async def test_run_past_its_time_limit_fails_with_timeout(
    client: Any, setup: dict[str, Any], provider: Any
) -> None:
    provider.reset(RESOLVER_SCRIPT, delay=30)
    agent = await setup["agent"]("issue_resolver")
    run = await start(client, setup, agent, timeout_seconds=2, **ISSUE)
    done = await wait_run(
        client, setup["headers"], run["id"], "failed", "completed", "cancelled", timeout=30
    )
    assert (done["status"], done["exit_reason"]) == ("failed", "timeout")


async def test_project_concurrency_cap_answers_429(
    client: Any, setup: dict[str, Any], provider: Any
) -> None:
    provider.reset([], delay=30)
    agent = await setup["agent"]("issue_resolver")
    runs = [await start(client, setup, agent, **ISSUE) for _ in range(4)]
    response = await client.post(
        f"/api/v1/agents/{agent}/start", json=ISSUE, headers=setup["headers"]
    )
    assert response.status_code == 429
    assert response.headers["content-type"].startswith("application/problem+json")
    cancelled = await client.post(f"/api/v1/agents/{agent}/cancel", headers=setup["headers"])
    assert {r["id"] for r in cancelled.json()} == {r["id"] for r in runs}
    for run in runs:
        done = await wait_run(
            client, setup["headers"], run["id"], "cancelled", "failed", "completed", timeout=10
        )
        assert done["status"] == "cancelled"


async def _resolver_project(
    client: Any, setup: dict[str, Any], projects: Any, tmp_path: Path, **config: Any
) -> str:
    """An issue_resolver agent on a project whose repository has the median bug."""
    project = await projects.create(setup["owner"], f"file://{stats_repo(tmp_path / 'stats')}")
    body = {
        "project_id": str(project),
        "name": f"r-{uuid.uuid4().hex[:6]}",
        "type": "issue_resolver",
        "config": {"samples": 3, **config},
    }
    response = await client.post("/api/v1/agents", json=body, headers=setup["headers"])
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def test_issue_resolver_proves_its_patch_and_keeps_its_trajectory(
    client: Any, setup: dict[str, Any], provider: Any, projects: Any, tmp_path: Path
) -> None:
    provider.reset([*LOCALIZE, BREAKS_REGRESSION, GOOD, GOOD_RESTYLED, REPRO])
    agent = await _resolver_project(client, setup, projects, tmp_path, stream=True)
    run = await start(client, setup, agent, issue=RESOLVER_ISSUE)
    done = await wait_run(client, setup["headers"], run["id"], "completed", "failed", timeout=180)
    assert done["status"] == "completed", done
    result = done["result"]
    assert result["resolved"] is True
    assert "if len(ordered) % 2 == 0" in result["diff"]
    assert result["branch"].startswith("agent/issue-")
    base = f"/api/v1/agents/runs/{run['id']}"
    trajectory = await client.get(f"{base}/trajectory", headers=setup["headers"])
    assert trajectory.status_code == 200
    assert trajectory.headers["content-disposition"].startswith("attachment;")
    document = trajectory.json()
    assert document["totals"]["calls"] == 7 and document["totals"]["prompt_tokens"] == 7 * 100
    assert document["calls"][0]["messages"][1]["content"].startswith("Issue:")
    assert all(c["streamed"] for c in document["calls"])
    logs = (await client.get(f"{base}/logs?limit=500", headers=setup["headers"])).json()
    assert any(line["message"].startswith("model call 7 (reproduce)") for line in logs["items"])


async def test_a_hostile_reproduction_test_is_contained_and_the_worker_goes_on(
    client: Any, setup: dict[str, Any], provider: Any, projects: Any, tmp_path: Path
) -> None:
    hostile = (
        "```python\nimport os, socket, sys\n\n"
        "def test_attack():\n"
        "    try:\n        socket.create_connection(('127.0.0.1', 5432), timeout=2)\n"
        "    except OSError:\n        pass\n"
        "    while True:\n        sys.stdout.write('x' * 65536)\n```"
    )
    provider.reset([*LOCALIZE, GOOD, hostile])
    agent = await _resolver_project(client, setup, projects, tmp_path, samples=1)
    run = await start(client, setup, agent, issue=RESOLVER_ISSUE)
    done = await wait_run(client, setup["headers"], run["id"], "completed", "failed", timeout=180)
    assert done["status"] == "completed", done
    assert done["result"]["resolved"] is False
    assert done["result"]["summary"].startswith("no candidate passed")
    # The same worker takes the next run.
    provider.reset([*LOCALIZE, GOOD, REPRO])
    again = await start(client, setup, agent, issue=RESOLVER_ISSUE)
    done = await wait_run(client, setup["headers"], again["id"], "completed", "failed", timeout=180)
    assert done["status"] == "completed" and done["result"]["resolved"] is True, done


async def test_finished_run_exports_sarif_json_and_markdown(
    client: Any, setup: dict[str, Any]
) -> None:
    import json

    import jsonschema

    agent = await setup["agent"]("code_analyzer")
    run = await start(client, setup, agent)
    await wait_run(client, setup["headers"], run["id"], "completed")
    base = f"/api/v1/agents/runs/{run['id']}"
    sarif = await client.get(f"{base}/sarif", headers=setup["headers"])
    assert sarif.headers["content-type"].startswith("application/sarif+json")
    schema = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema).validate(sarif.json())
    assert_github_requirements(sarif.json())
    # The upload category is the agent's and the kind's; the run id tells uploads apart.
    assert {r["automationDetails"]["id"] for r in sarif.json()["runs"]} == {
        f"swe-agents/{agent}/analysis/{run['id']}"
    }
    markdown = await client.get(
        f"{base}/report", params={"format": "markdown"}, headers=setup["headers"]
    )
    assert markdown.text.startswith("## Code analysis")
    report = await client.get(f"{base}/report", headers=setup["headers"])
    assert report.json()["run"]["run_id"] == run["id"]


async def test_a_pending_run_has_no_report_yet(
    client: Any, setup: dict[str, Any], provider: Any
) -> None:
    provider.reset([], delay=30)
    agent = await setup["agent"]("issue_resolver")
    run = await start(client, setup, agent, **ISSUE)
    response = await client.get(f"/api/v1/agents/runs/{run['id']}/sarif", headers=setup["headers"])
    assert response.status_code == 409
    await client.post(f"/api/v1/agents/runs/{run['id']}/cancel", headers=setup["headers"])
    await wait_run(client, setup["headers"], run["id"], "cancelled")


async def test_second_review_of_a_pull_request_covers_only_the_new_commits(
    client: Any, tokens: TokenFactory, projects: Any, tmp_path: Path
) -> None:
    from .gitrepo import commit, git, planted_repo

    repo = planted_repo(tmp_path / "repo")
    git(repo, "checkout", "--quiet", "-b", "feature")
    commit(repo, {"app/one.py": "import os\n"}, "first")
    owner = uuid.uuid4()
    headers = tokens.headers(owner)
    project = await projects.create(owner, f"file://{repo}")
    body = {"project_id": str(project), "name": "reviewer", "type": "pr_reviewer"}
    agent = (await client.post("/api/v1/agents", json=body, headers=headers)).json()
    pr = {"pull_request": {"id": str(uuid.uuid4()), "base_ref": "main", "head_ref": "feature"}}
    first = (
        await client.post(f"/api/v1/agents/{agent['id']}/start", json=pr, headers=headers)
    ).json()
    first = await wait_run(client, headers, first["id"], "completed", "failed")
    commit(repo, {"app/two.py": "import sys\n"}, "second")
    second = (
        await client.post(f"/api/v1/agents/{agent['id']}/start", json=pr, headers=headers)
    ).json()
    second = await wait_run(client, headers, second["id"], "completed", "failed")
    assert first["result"]["reviewed_range"]["incremental"] is False
    assert second["result"]["reviewed_range"]["incremental"] is True
    assert second["result"]["reviewed_range"]["from"] == first["result"]["head_sha"]
    assert {c["path"] for c in second["result"]["comments"]} == {"app/two.py"}


def _bandit_processes(work_dir: str) -> list[int]:
    """Bandit processes working in a run's private checkout (from /proc)."""
    import os

    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                argv = handle.read().split(b"\0")
            cwd = os.readlink(f"/proc/{entry}/cwd")
        except OSError:
            continue
        if b"bandit" in argv and cwd.startswith(work_dir):
            found.append(int(entry))
    return found


async def test_cancel_kills_the_running_analysis_tool(
    client: Any, tokens: TokenFactory, projects: Any, tmp_path: Path, settings: Any
) -> None:
    from .gitrepo import make_repo

    big = "".join(
        f"def f{i}(x):\n    if x > {i}:\n        return eval(str(x))\n    return x\n\n"
        for i in range(4000)
    )
    repo = make_repo(tmp_path / "big", {f"pkg/big{n}.py": big for n in range(4)})
    owner = uuid.uuid4()
    headers = tokens.headers(owner)
    project = await projects.create(owner, f"file://{repo}")
    body = {
        "project_id": str(project),
        "name": "sec",
        "type": "custom",
        "config": {"steps": ["security"]},
    }
    agent = (await client.post("/api/v1/agents", json=body, headers=headers)).json()
    run = (
        await client.post(f"/api/v1/agents/{agent['id']}/start", json={}, headers=headers)
    ).json()

    async def bandit_running() -> list[int]:
        return _bandit_processes(settings.work_dir)

    await eventually(bandit_running, timeout=30, interval=0.1)
    response = await client.post(f"/api/v1/agents/runs/{run['id']}/cancel", headers=headers)
    assert response.status_code == 202
    done = await wait_run(client, headers, run["id"], "cancelled", "completed", "failed", timeout=5)
    assert done["status"] == "cancelled"

    async def gone() -> bool:
        return not _bandit_processes(settings.work_dir)

    await eventually(gone, timeout=3)


async def test_worker_keeps_its_health_file_fresh(settings: Any) -> None:
    import os
    import time

    path = settings.healthcheck_heartbeat_file

    async def fresh() -> bool:
        return os.path.exists(path) and time.time() - os.stat(path).st_mtime < 5

    await eventually(fresh, timeout=10)
