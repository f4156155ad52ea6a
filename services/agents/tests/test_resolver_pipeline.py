"""The issue resolver's pipeline against a fake OpenAI-compatible server (real wire format:
plain JSON, server-sent events, tool calls) playing scripted answers, over a small repository
with a real bug, its tests, and an issue. Tests run for real in the bubblewrap sandbox."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from swe_agents.resolver.spend import DailySpend
from swe_agents.runners import issue_resolver
from swe_agents.runners.context import RunContext, RunFailure
from swe_agents.settings import Settings
from swe_common.testing_llm import FakeProvider

from .gitrepo import make_repo

STATS = '''"""Small statistics helpers."""


def mean(values):
    return sum(values) / len(values)


def median(values):
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid]
'''
TESTS = """from calc.stats import mean, median


def test_median_of_odd_count():
    assert median([3, 1, 2]) == 2


def test_median_of_one():
    assert median([5]) == 5


def test_mean():
    assert mean([1, 2, 3]) == 2
"""
ISSUE = {
    "title": "median() is wrong for an even number of values",
    "description": "median([1, 2, 3, 4]) returns 3; it should be 2.5, the mean of the two "
    "middle values.",
}


def stats_repo(path: Path) -> Path:
    return make_repo(
        path,
        {"calc/__init__.py": "", "calc/stats.py": STATS, "tests/test_stats.py": TESTS},
    )


LOCALIZE = [
    "```\ncalc/stats.py\n```",
    "```\ncalc/stats.py::median\n```",
    "```\ncalc/stats.py:9-11\n```",
]
# Right for an even count, wrong for an odd one: breaks test_median_of_odd_count.
BREAKS_REGRESSION = """### calc/stats.py
<<<<<<< SEARCH
    return ordered[mid]
=======
    return (ordered[mid - 1] + ordered[mid]) / 2
>>>>>>> REPLACE
"""
GOOD = """### calc/stats.py
<<<<<<< SEARCH
    mid = len(ordered) // 2
    return ordered[mid]
=======
    mid = len(ordered) // 2
    if len(ordered) % 2 == 0:
        return (ordered[mid - 1] + ordered[mid]) / 2
    return ordered[mid]
>>>>>>> REPLACE
"""
# The same fix written differently (spacing, a comment): one candidate, two samples agree.
GOOD_RESTYLED = """Here you go:

### calc/stats.py
<<<<<<< SEARCH
    mid = len(ordered) // 2
    return ordered[mid]
=======
    mid = len(ordered) // 2
    if len(ordered) % 2 == 0:  # even: the mean of the two middle values
        return (ordered[mid - 1] + ordered[mid])/2
    return ordered[mid]
>>>>>>> REPLACE
"""
NOT_APPLYING = """### calc/stats.py
<<<<<<< SEARCH
    return values[len(values) // 2]
=======
    return 0
>>>>>>> REPLACE
"""
REPRO = """```python
from calc.stats import median


def test_median_of_even_count_is_the_mean_of_the_middle_values():
    assert median([1, 2, 3, 4]) == 2.5
```"""


def context(
    tmp_path: Path, repo: Path, provider: FakeProvider, **config: Any
) -> tuple[RunContext, list[str]]:
    lines: list[str] = []

    async def log(message: str, _fields: dict[str, Any]) -> None:
        lines.append(message)

    settings = Settings(
        allow_file_repositories=True,
        checkout_cache_dir=str(tmp_path / "cache"),
        work_dir=str(tmp_path / "work"),
        llm_base_url=provider.base_url,
        llm_api_key="sk-test-key",
        llm_model="fake-model",
        sandbox_wall_seconds=60,
    )
    (tmp_path / "work").mkdir(parents=True, exist_ok=True)
    ctx = RunContext(
        settings=settings,
        run_id=uuid.uuid4().hex,
        agent_type="issue_resolver",
        config={"samples": 3, **config},
        trigger={"kind": "api", "issue": dict(ISSUE)},
        repository_url=f"file://{repo}",
        default_branch="main",
        log=log,
        work_root=tmp_path / "work",
    )
    return ctx, lines


@pytest.mark.parametrize(
    ("stream", "tools"), [(False, False), (True, False), (False, True), (True, True)]
)
async def test_the_candidate_that_keeps_the_tests_passing_is_chosen_over_one_breaking_a_test(
    tmp_path: Path, provider: FakeProvider, stream: bool, tools: bool
) -> None:
    repo = stats_repo(tmp_path / "repo")
    provider.reset([*LOCALIZE, BREAKS_REGRESSION, GOOD, GOOD_RESTYLED, REPRO])
    ctx, log = context(tmp_path, repo, provider, stream=stream, tool_calling=tools)
    result = await issue_resolver.run(ctx)
    assert result["resolved"] is True, result["candidates"]
    assert "if len(ordered) % 2 == 0" in result["diff"]
    assert result["evidence"]["fail_to_pass"] == [
        "test_swe_reproduction.py::test_median_of_even_count_is_the_mean_of_the_middle_values"
    ]
    assert result["evidence"]["pass_to_pass"] == [
        "tests/test_stats.py::test_mean",
        "tests/test_stats.py::test_median_of_odd_count",
        "tests/test_stats.py::test_median_of_one",
    ]
    by_index = {c["candidate"]: c for c in result["candidates"]}
    # Two candidates (the restyled fix merged with the first good one, agreed by 2 samples).
    assert len(by_index) == 2
    breaking = next(c for c in by_index.values() if c["samples"] == [1])
    assert breaking["passed"] is False
    assert breaking["regressions"] == ["tests/test_stats.py::test_median_of_odd_count"]
    chosen = next(c for c in by_index.values() if c["samples"] == [2, 3])
    assert chosen["passed"] is True and chosen["agreement"] == 2
    assert result["model"]["calls"] == 7 and result["model"]["tokens"] == 7 * 120
    assert [c["step"] for c in result["trajectory"]] == [
        "localize_files",
        "localize_elements",
        "localize_lines",
        "repair",
        "repair",
        "repair",
        "reproduce",
    ]
    assert all(c["streamed"] is stream and c["tool_call"] is tools for c in result["trajectory"])
    # What the endpoint was sent: the wire format of each mode.
    assert all(bool(r.get("stream")) is stream for r in provider.requests)
    assert all(bool(r.get("tools")) is tools for r in provider.requests)
    assert "score_change" in result and result["branch"].startswith("agent/issue-")
    assert any("model call 7 (reproduce)" in line for line in log)


async def test_no_candidate_passed_is_reported_as_such(
    tmp_path: Path, provider: FakeProvider
) -> None:
    repo = stats_repo(tmp_path / "repo")
    provider.reset([*LOCALIZE, BREAKS_REGRESSION, REPRO])
    ctx, _ = context(tmp_path, repo, provider, samples=1)
    result = await issue_resolver.run(ctx)
    assert result["resolved"] is False
    assert result["summary"].startswith("no candidate passed")
    assert result["candidates"][0]["regressions"] == [
        "tests/test_stats.py::test_median_of_odd_count"
    ]
    assert "diff" not in result


async def test_a_model_repeating_an_unusable_edit_is_stopped_as_stuck(
    tmp_path: Path, provider: FakeProvider
) -> None:
    repo = stats_repo(tmp_path / "repo")
    provider.reset([*LOCALIZE, *[NOT_APPLYING] * 8])
    ctx, _ = context(tmp_path, repo, provider, samples=8, stuck_after=3)
    with pytest.raises(RunFailure) as failure:
        await issue_resolver.run(ctx)
    assert failure.value.exit_reason == "stuck"
    assert len(provider.requests) == 3 + 3  # localization, then three identical edits
    assert ctx.trajectory is not None and len(ctx.trajectory) == 6


@pytest.mark.parametrize(
    ("config", "calls"),
    [
        ({"max_calls": 2}, 2),
        ({"max_tokens": 200}, 2),  # 120 tokens a call
        # 100 prompt + 20 completion tokens at $50/$500 a million: $0.015 a call.
        ({"max_cost": 0.02, "price_input_per_mtok": 50, "price_output_per_mtok": 500}, 2),
    ],
)
async def test_every_run_budget_is_checked_before_each_call(
    tmp_path: Path, provider: FakeProvider, config: dict[str, Any], calls: int
) -> None:
    repo = stats_repo(tmp_path / "repo")
    provider.reset([*LOCALIZE, GOOD, GOOD, GOOD, REPRO])
    ctx, _ = context(tmp_path, repo, provider, **config)
    with pytest.raises(RunFailure) as failure:
        await issue_resolver.run(ctx)
    assert failure.value.exit_reason == "budget_exceeded"
    assert len(provider.requests) == calls


async def test_the_wall_time_budget_stops_the_next_call(
    tmp_path: Path, provider: FakeProvider
) -> None:
    repo = stats_repo(tmp_path / "repo")
    provider.reset([*LOCALIZE, GOOD, REPRO], delay=1.5)
    ctx, _ = context(tmp_path, repo, provider, max_wall_seconds=1)
    with pytest.raises(RunFailure) as failure:
        await issue_resolver.run(ctx)
    assert failure.value.exit_reason == "budget_exceeded"
    assert "wall-time" in failure.value.message
    assert len(provider.requests) == 1


async def test_a_projects_daily_budget_is_shared_by_its_runs(
    tmp_path: Path, provider: FakeProvider
) -> None:
    redis = aioredis.from_url("redis://127.0.0.1:6379/0", decode_responses=True)
    prefix = f"test:spend:{uuid.uuid4().hex}"
    try:
        repo = stats_repo(tmp_path / "repo")
        provider.reset([*LOCALIZE, BREAKS_REGRESSION, REPRO])
        ctx, _ = context(tmp_path, repo, provider, samples=1)
        ctx.spend = DailySpend(redis, prefix, "project-1", max_tokens=700, max_cost=None)
        await issue_resolver.run(ctx)  # 5 calls, 600 tokens: within the day's 700
        provider.reset([*LOCALIZE, GOOD, REPRO])
        ctx, _ = context(tmp_path / "second", stats_repo(tmp_path / "repo2"), provider)
        ctx.spend = DailySpend(redis, prefix, "project-1", max_tokens=700, max_cost=None)
        with pytest.raises(RunFailure) as failure:
            await issue_resolver.run(ctx)
        assert failure.value.exit_reason == "budget_exceeded"
        assert "daily" in failure.value.message
        assert len(provider.requests) == 1  # 720 tokens spent today: the second call refused
    finally:
        keys = [k async for k in redis.scan_iter(f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_without_a_sandbox_the_run_fails_before_asking_the_model(
    tmp_path: Path, provider: FakeProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    from swe_agents import sandbox

    sandbox._code_sandbox.cache_clear()
    monkeypatch.setattr(sandbox, "_TOOL_PATH", str(tmp_path))
    try:
        provider.reset([*LOCALIZE])
        ctx, _ = context(tmp_path, stats_repo(tmp_path / "repo"), provider)
        with pytest.raises(RunFailure) as failure:
            await issue_resolver.run(ctx)
    finally:
        sandbox._code_sandbox.cache_clear()
    assert failure.value.exit_reason == "sandbox_unavailable"
    assert provider.requests == []
