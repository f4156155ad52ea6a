"""code_analyzer on a real git repository with planted defects."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swe_agents.analysis import pipeline
from swe_agents.runners import code_analyzer
from swe_agents.runners.context import RunContext, RunFailure
from swe_agents.settings import Settings

from .gitrepo import (
    LINE_BARE_EXCEPT,
    LINE_BRANCHY,
    LINE_BRANCHY_JS,
    LINE_EVAL,
    LINE_PASSWORD,
    LINE_SHELL,
    LINE_UNUSED_IMPORT,
    commit,
    planted_repo,
)


def context(
    tmp_path: Path, url: str, allow_file: bool = True, **config: Any
) -> tuple[RunContext, list[str]]:
    lines: list[str] = []

    async def log(message: str, _fields: dict[str, Any]) -> None:
        lines.append(message)

    settings = Settings(
        allow_file_repositories=allow_file, checkout_cache_dir=str(tmp_path / "cache")
    )
    ctx = RunContext(
        settings=settings,
        run_id="r",
        agent_type="code_analyzer",
        config=config,
        trigger={"kind": "api"},
        repository_url=url,
        default_branch="main",
        log=log,
    )
    return ctx, lines


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return planted_repo(tmp_path_factory.mktemp("planted") / "repo")


@pytest.fixture(scope="module")
async def report(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> pipeline.AnalysisReport:
    ctx, _ = context(tmp_path_factory.mktemp("run"), f"file://{repo}")
    return await code_analyzer.run(ctx)


def at(report: dict[str, Any], tool: str, rule: str) -> set[tuple[str, int]]:
    return {
        (f["path"], f["line"])
        for f in report["findings"]
        if f["tool"] == tool and f["rule"] == rule
    }


def test_ruff_finds_the_unused_import_and_the_bare_except(report: dict[str, Any]) -> None:
    assert ("app/defects.py", LINE_UNUSED_IMPORT) in at(report, "ruff", "F401")
    assert ("app/defects.py", LINE_BARE_EXCEPT) in at(report, "ruff", "E722")


def test_bandit_finds_shell_eval_and_password_with_cwe(report: dict[str, Any]) -> None:
    security = {(f["rule"], f["line"]): f for f in report["security"] if f["tool"] == "bandit"}
    assert security[("B602", LINE_SHELL)]["cwe"] == 78
    assert security[("B602", LINE_SHELL)]["severity"] == "high"
    assert ("B307", LINE_EVAL) in security
    assert security[("B105", LINE_PASSWORD)]["cwe"] == 259


def test_radon_reports_the_branchy_function_as_the_worst(report: dict[str, Any]) -> None:
    worst = report["worst_functions"][0]
    assert (worst["path"], worst["function"], worst["line"]) == (
        "app/defects.py",
        "branchy",
        LINE_BRANCHY,
    )
    assert worst["complexity"] > 10
    assert ("app/defects.py", LINE_BRANCHY) in at(report, "radon", "CC")


def test_lizard_measures_complexity_of_other_languages(report: dict[str, Any]) -> None:
    functions = {(f["path"], f["function"]): f for f in report["worst_functions"]}
    branchy = functions[("web/branchy.js", "branchy")]
    assert branchy["line"] == LINE_BRANCHY_JS and branchy["complexity"] > 10
    assert ("web/branchy.js", LINE_BRANCHY_JS) in at(report, "lizard", "CCN")


def test_secret_detection_flags_the_hardcoded_password(report: dict[str, Any]) -> None:
    assert ("app/defects.py", LINE_PASSWORD) in at(report, "secrets", "SEC004")


def test_clean_file_has_no_findings(report: dict[str, Any]) -> None:
    assert not [f for f in report["findings"] if f["path"] == "app/clean.py"]


def test_paths_are_relative_and_fingerprints_present(report: dict[str, Any]) -> None:
    for finding in report["findings"]:
        assert not finding["path"].startswith("/")
        assert len(finding["fingerprint"]) == 32


def test_score_is_versioned_and_rates_the_planted_defects(report: dict[str, Any]) -> None:
    quality = report["quality"]
    assert quality["formula_version"] == "2"
    # shell=True on a variable, eval and a hard-coded password are security hotspots (to
    # review); the bare except and the unused import are code smells.
    assert quality["to_review"]["by_rule"]["bandit:B602"] == 1
    assert quality["to_review"]["by_rule"]["bandit:B307"] == 1
    assert set(quality["ratings"]) == {"maintainability", "reliability", "security"}
    assert quality["rating"] == max(
        (r["rating"] for r in quality["ratings"].values()), key="ABCDE".index
    )
    # Version 1 of the same findings: capped by the worst security finding.
    assert quality["v1"] == {"score": 40, "rating": "D"}
    assert report["counts"]["by_severity"]["high"] >= 1


async def test_same_commit_gives_the_same_report(
    repo: Path, report: dict[str, Any], tmp_path: Path
) -> None:
    ctx, _ = context(tmp_path, f"file://{repo}")
    again = await code_analyzer.run(ctx)
    assert again == report


async def test_fingerprints_survive_lines_added_above(tmp_path: Path) -> None:
    repo = planted_repo(tmp_path / "shift")
    ctx, _ = context(tmp_path, f"file://{repo}")
    before = {f["fingerprint"] for f in (await code_analyzer.run(ctx))["findings"]}
    text = (repo / "app/defects.py").read_text()
    commit(repo, {"app/defects.py": '"""Docs."""\n\n' + text}, "docstring")
    after_report = await code_analyzer.run(ctx)
    shifted = next(f for f in after_report["findings"] if f["rule"] == "B602")
    assert shifted["line"] == LINE_SHELL + 2
    assert shifted["fingerprint"] in before


async def test_repository_outside_the_allowed_set_is_refused_before_any_clone(
    tmp_path: Path,
) -> None:
    ctx, _ = context(tmp_path, "https://evil.example.com/a/b", allow_file=False)
    with pytest.raises(RunFailure) as failure:
        await code_analyzer.run(ctx)
    assert failure.value.exit_reason == "repository_unreachable"
    assert not (tmp_path / "cache").exists()


async def test_file_urls_are_refused_unless_enabled(repo: Path, tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, f"file://{repo}", allow_file=False)
    with pytest.raises(RunFailure, match="not enabled"):
        await code_analyzer.run(ctx)


async def test_custom_pipeline_runs_only_its_steps(repo: Path, tmp_path: Path) -> None:
    ctx, _ = context(tmp_path, f"file://{repo}", steps=["lint"], fail_under_score=99)
    result = await code_analyzer.run(ctx)
    assert {f["tool"] for f in result["findings"]} == {"ruff"}
    assert result["quality_score"] < 99
    assert result["passed"] is False


def test_reports_never_repeat_a_hardcoded_secret(report: dict[str, Any]) -> None:
    import json

    assert "hunter2-very-secret" not in json.dumps(report)


async def test_analysis_fetches_shallow_and_a_review_deepens_the_cache(tmp_path: Path) -> None:
    from swe_agents.runners import pr_reviewer

    from .gitrepo import git

    repo = planted_repo(tmp_path / "deep")
    first = git(repo, "rev-parse", "HEAD")
    commit(repo, {"app/later.py": "import os\n"}, "later")
    ctx, _ = context(tmp_path, f"file://{repo}")
    await code_analyzer.run(ctx)
    caches = list((tmp_path / "cache").glob("*.git"))
    assert [(c / "shallow").exists() for c in caches] == [True]
    ctx.trigger = {"kind": "api", "ref": first}
    old = await code_analyzer.run(ctx)
    assert old["commit"] == first
    assert not (caches[0] / "shallow").exists()
    ctx.agent_type = "pr_reviewer"
    ctx.trigger = {
        "kind": "api",
        "level": "quick",
        "pull_request": {"base_ref": first, "head_ref": "main"},
    }
    review = await pr_reviewer.run(ctx)
    assert review["files_reviewed"] == ["app/later.py"]
