"""pr_reviewer on a real repository: changed lines only, new vs pre-existing, levels, noise
controls, incremental reviews, and the SARIF / Markdown exports."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from swe_agents.analysis import exports
from swe_agents.runners import code_analyzer, pr_reviewer
from swe_agents.runners.context import RunContext
from swe_agents.settings import Settings
from swe_common.events.contracts import ReviewComment, ReviewResult

from .gitrepo import DEFECTS_PY, commit, git, planted_repo

SCHEMA = json.loads((Path(__file__).parent / "data" / "sarif-schema-2.1.0.json").read_text())
TOKEN = "ghp_" + "A1b2C3d4E5" * 4  # a GitHub-token-shaped string
SPAWN = """

def spawn(cmd):
    unused = 1
    try:
        return subprocess.Popen(cmd, shell=True)
    except:
        return None
"""


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = planted_repo(tmp_path_factory.mktemp("pr") / "repo")
    git(path, "checkout", "--quiet", "-b", "feature")
    head_text = DEFECTS_PY.replace("    total = 0\n", "    total = 1\n") + SPAWN
    head = commit(
        path,
        {
            "app/defects.py": head_text,
            "app/clean.py": (path / "app/clean.py").read_text() + f'\nAPI_TOKEN = "{TOKEN}"\n',
            "docs/notes.md": "Notes\n",
        },
        "feature work",
    )
    git(path, "checkout", "--quiet", "main")
    return {"path": path, "head": head, "head_text": head_text}


def context(
    tmp_path: Path,
    repo: Path,
    level: str = "thorough",
    previous: str | None = None,
    head_ref: str = "feature",
    **config: Any,
) -> RunContext:
    async def log(_message: str, _fields: dict[str, Any]) -> None:
        return None

    settings = Settings(allow_file_repositories=True, checkout_cache_dir=str(tmp_path / "cache"))
    trigger = {
        "kind": "api",
        "level": level,
        "pull_request": {"base_ref": "main", "head_ref": head_ref},
    }
    return RunContext(
        settings=settings,
        run_id="r",
        agent_type="pr_reviewer",
        config={"min_severity": "info", **config},
        trigger=trigger,
        repository_url=f"file://{repo}",
        default_branch="main",
        log=log,
        previous_review_head=previous,
    )


@pytest.fixture(scope="module")
async def thorough(
    repo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    return await pr_reviewer.run(context(tmp_path_factory.mktemp("t"), repo["path"]))


def comments(result: dict[str, Any], tool: str | None = None) -> list[dict[str, Any]]:
    return [c for c in result["comments"] if tool is None or c["tool"] == tool]


def changed_lines(repo: dict[str, Any]) -> dict[str, set[int]]:
    text = repo["head_text"]
    spawn_start = line_of(text, "def spawn")
    return {
        "app/defects.py": {
            line_of(text, "total = 1"),
            *range(spawn_start - 2, len(text.splitlines()) + 1),
        },
        "app/clean.py": {6, 7},
        "docs/notes.md": {1},
    }


def test_comments_are_only_on_changed_lines(thorough: dict[str, Any], repo: dict[str, Any]) -> None:
    allowed = changed_lines(repo)
    assert thorough["comments"]
    for comment in thorough["comments"]:
        assert comment["line"] in allowed[comment["path"]], comment


def test_the_review_document_is_the_shared_review_result_and_reads_back_unchanged(
    thorough: dict[str, Any],
) -> None:
    # Issues and analytics read it as swe_common's ReviewResult: nothing lost or renamed.
    assert ReviewResult.model_validate(thorough).wire() == thorough
    assert set(thorough) == set(ReviewResult.model_fields) and "from" in thorough["reviewed_range"]
    assert set(thorough["comments"][0]) == set(ReviewComment.model_fields)


def test_pre_existing_defects_on_unchanged_lines_are_not_commented(
    thorough: dict[str, Any],
) -> None:
    places = {(c["rule"], c["line"]) for c in thorough["comments"]}
    assert ("F401", 1) not in places and ("B307", 9) not in places and ("E722", 10) not in places


def test_new_findings_are_marked_new(thorough: dict[str, Any], repo: dict[str, Any]) -> None:
    text = repo["head_text"]
    by_rule = {(c["tool"], c["rule"]): c for c in thorough["comments"]}
    assert by_rule[("bandit", "B602")]["line"] == line_of(text, "Popen(cmd, shell=True)")
    assert by_rule[("bandit", "B602")]["new"] is True
    assert by_rule[("ruff", "F841")]["new"] is True
    assert by_rule[("secrets", "SEC003")]["path"] == "app/clean.py"


def test_a_finding_that_existed_at_the_base_is_pre_existing(
    thorough: dict[str, Any], repo: dict[str, Any]
) -> None:
    radon = comments(thorough, "radon")
    assert [(c["line"], c["new"]) for c in radon] == [
        (line_of(repo["head_text"], "total = 1"), False)
    ]


def test_thorough_review_requests_changes_for_new_security_issues(thorough: dict[str, Any]) -> None:
    assert thorough["approval"] == "request_changes"
    assert any(s["rule"] == "B602" and s["cwe"] == 78 for s in thorough["security"])
    assert thorough["quality"]["formula_version"] == "2"


async def _two_levels(path: Path, tmp_path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    quick = await pr_reviewer.run(context(tmp_path / "q", path, level="quick"))
    standard = await pr_reviewer.run(context(tmp_path / "s", path, level="standard"))
    return quick, standard


async def test_quick_is_lint_and_secrets_standard_adds_complexity(
    repo: dict[str, Any], tmp_path: Path
) -> None:
    quick, standard = await _two_levels(repo["path"], tmp_path)
    assert {c["tool"] for c in quick["comments"]} == {"ruff", "secrets"}
    assert quick["complexity"] == []
    assert {c["tool"] for c in standard["comments"]} == {"ruff", "secrets", "radon"}
    spawn = [d for d in standard["complexity"] if d["function"] == "spawn"]
    assert spawn and spawn[0]["before"] is None and spawn[0]["after"] >= 2
    assert any(
        m["path"] == "app/defects.py" and m["delta"] is not None
        for m in standard["maintainability"]
    )


async def test_noise_controls_filter_cap_and_suppress(
    repo: dict[str, Any], thorough: dict[str, Any], tmp_path: Path
) -> None:
    target = next(c for c in thorough["comments"] if c["rule"] == "B602")
    result = await pr_reviewer.run(
        context(
            tmp_path,
            repo["path"],
            min_severity="medium",
            max_comments=2,
            exclude=["docs/*"],
            suppressed_fingerprints=[target["fingerprint"]],
        )
    )
    assert result["skipped_files"] == ["docs/notes.md"]
    assert len(result["comments"]) == 2
    assert all(c["severity"] in ("medium", "high", "critical") for c in result["comments"])
    assert target["fingerprint"] not in {c["fingerprint"] for c in result["comments"]}
    assert result["suppressed"]["suppressed"] == 1 and result["suppressed"]["over_cap"] >= 1


async def test_clean_change_is_approved(tmp_path: Path) -> None:
    path = planted_repo(tmp_path / "clean")
    git(path, "checkout", "--quiet", "-b", "tidy")
    commit(
        path,
        {"app/more.py": '"""More."""\n\n\ndef double(x: int) -> int:\n    return 2 * x\n'},
        "tidy",
    )
    result = await pr_reviewer.run(context(tmp_path, path, head_ref="tidy"))
    assert (result["approval"], result["comments"]) == ("approve", [])


async def test_review_after_new_commits_is_incremental(
    repo: dict[str, Any], tmp_path: Path
) -> None:
    path = Path(repo["path"])
    git(path, "checkout", "--quiet", "-b", "feature-inc", "feature")
    commit(path, {"app/extra.py": "import os\n"}, "more")
    git(path, "checkout", "--quiet", "main")
    result = await pr_reviewer.run(
        context(tmp_path, path, previous=repo["head"], head_ref="feature-inc")
    )
    assert result["reviewed_range"]["incremental"] is True
    assert result["reviewed_range"]["from"] == repo["head"]
    assert {c["path"] for c in result["comments"]} == {"app/extra.py"}


async def test_force_push_falls_back_to_a_full_review(repo: dict[str, Any], tmp_path: Path) -> None:
    path = Path(repo["path"])
    git(path, "checkout", "--quiet", "-b", "rewritten", "main")
    commit(path, {"app/other.py": "import sys\n"}, "rewritten history")
    git(path, "checkout", "--quiet", "main")
    result = await pr_reviewer.run(
        context(tmp_path, path, previous=repo["head"], head_ref="rewritten")
    )
    assert result["reviewed_range"]["incremental"] is False
    assert result["reviewed_range"]["reason"] == "force_push"
    assert {c["path"] for c in result["comments"]} == {"app/other.py"}


def test_review_sarif_validates_against_the_2_1_0_schema(thorough: dict[str, Any]) -> None:
    document = exports.sarif("pr_reviewer", thorough)
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    assert document["version"] == "2.1.0"
    results = [r for run in document["runs"] for r in run["results"]]
    assert len(results) == len(thorough["comments"])
    for result in results:
        location = result["locations"][0]["physicalLocation"]
        assert not location["artifactLocation"]["uri"].startswith("/")
        assert result["partialFingerprints"]


def test_sarif_security_rules_carry_security_severity_and_cwe(thorough: dict[str, Any]) -> None:
    document = exports.sarif("pr_reviewer", thorough)
    bandit = next(run for run in document["runs"] if run["tool"]["driver"]["name"] == "bandit")
    rule = next(r for r in bandit["tool"]["driver"]["rules"] if r["id"] == "B602")
    assert float(rule["properties"]["security-severity"]) >= 7.0
    assert "external/cwe/cwe-78" in rule["properties"]["tags"]


async def test_analysis_sarif_validates_too(repo: dict[str, Any], tmp_path: Path) -> None:
    ctx = context(tmp_path, repo["path"])
    ctx.agent_type, ctx.trigger = "code_analyzer", {"kind": "api", "ref": "main"}
    result = await code_analyzer.run(ctx)
    document = exports.sarif("code_analyzer", result)
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    assert sum(len(run["results"]) for run in document["runs"]) == len(result["findings"])


def test_markdown_carries_the_verdict_and_each_comment(thorough: dict[str, Any]) -> None:
    text = exports.markdown("pr_reviewer", thorough)
    assert text.startswith("## Review: Changes requested")
    for comment in thorough["comments"]:
        assert f"| {comment['line']} | {comment['severity']} | {comment['rule']} |" in text
    assert TOKEN not in text
