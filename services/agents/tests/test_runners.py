"""Runner-level behaviour that needs no queue: the subprocess kill, provider failures, budgets."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from swe_agents.analysis.tools import ToolTimeout, run_tool
from swe_agents.runners import code_analyzer, issue_resolver
from swe_agents.runners.context import RunContext, RunFailure
from swe_agents.settings import Settings

from .gitrepo import planted_repo

# Starts a grandchild, writes its pid, then waits: killing only the child would orphan it.
CHILD = (
    "import subprocess, sys, time; p = subprocess.Popen(['sleep', '60']); "
    "open(sys.argv[1], 'w').write(str(p.pid)); time.sleep(60)"
)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead; only its parent (gone too) would reap it.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


async def _child_pid(path: Path) -> int:
    async with asyncio.timeout(10):
        while not path.exists() or not path.read_text():
            await asyncio.sleep(0.05)
    return int(path.read_text())


async def test_cancelling_a_tool_kills_its_whole_process_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    task = asyncio.create_task(
        run_tool([sys.executable, "-c", CHILD, str(pid_file)], cwd=tmp_path, limit=60)
    )
    grandchild = await _child_pid(pid_file)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(3):
        while alive(grandchild):
            await asyncio.sleep(0.05)


async def test_a_tool_past_its_timeout_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    with pytest.raises(ToolTimeout):
        await run_tool([sys.executable, "-c", CHILD, str(pid_file)], cwd=tmp_path, limit=1)
    assert not alive(int(pid_file.read_text()))


async def test_tools_get_a_clean_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTS_LLM_API_KEY", "sk-must-not-leak")
    result = await run_tool(
        [sys.executable, "-c", "import os, json; print(json.dumps(dict(os.environ)))"],
        cwd=tmp_path,
        limit=10,
    )
    assert "sk-must-not-leak" not in result.stdout
    assert "AGENTS_LLM_API_KEY" not in json.loads(result.stdout)


async def test_a_repository_module_named_like_a_tool_is_never_imported(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    repo = planted_repo(tmp_path / "repo")
    from .gitrepo import commit

    commit(
        repo,
        {
            "bandit.py": f"open({str(marker)!r}, 'w').write('x')\n",
            "ruff.py": f"open({str(marker)!r}, 'w').write('x')\n",
        },
        "trap",
    )
    result = await code_analyzer.run(_context(tmp_path, repo, "code_analyzer"))
    assert not marker.exists()
    assert result["files_analyzed"] == 4


def _context(tmp_path: Path, repo: Path, agent_type: str, **overrides: Any) -> RunContext:
    async def log(_m: str, _f: dict[str, Any]) -> None:
        return None

    settings = Settings(
        allow_file_repositories=True, checkout_cache_dir=str(tmp_path / "cache"), **overrides
    )
    trigger = {"kind": "api", "issue": {"title": "Fix", "description": ""}}
    return RunContext(
        settings=settings,
        run_id="run-1234",
        agent_type=agent_type,
        config={"max_calls": 2},
        trigger=trigger,
        repository_url=f"file://{repo}",
        default_branch="main",
        log=log,
    )


async def test_issue_resolver_without_a_provider_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(RunFailure) as failure:
        await issue_resolver.run(_context(tmp_path, tmp_path, "issue_resolver", llm_base_url=None))
    assert failure.value.exit_reason == "provider_unavailable"
    assert "AGENTS_LLM_BASE_URL" in failure.value.message


async def test_provider_errors_are_provider_unavailable(tmp_path: Path, provider: Any) -> None:
    provider.reset([], status=503)
    repo = planted_repo(tmp_path / "repo")
    ctx = _context(
        tmp_path, repo, "issue_resolver", llm_base_url=provider.base_url, llm_api_key="sk-test-key"
    )
    with pytest.raises(RunFailure) as failure:
        await issue_resolver.run(ctx)
    assert failure.value.exit_reason == "provider_unavailable"


async def test_a_branch_prefix_that_is_not_a_ref_name_is_refused_naming_the_setting(
    tmp_path: Path, provider: Any
) -> None:
    provider.reset([])
    repo = planted_repo(tmp_path / "repo")
    ctx = _context(
        tmp_path, repo, "issue_resolver", llm_base_url=provider.base_url, llm_api_key="sk-test-key"
    )
    ctx.config["branch_prefix"] = "--orphan="
    with pytest.raises(RunFailure) as failure:
        await issue_resolver.run(ctx)
    assert failure.value.exit_reason == "error"
    assert "branch_prefix" in failure.value.message
    assert provider.requests == []
