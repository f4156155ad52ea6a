"""SARIF exports checked three ways: against the OASIS SARIF 2.1.0 schema, against what GitHub's
code scanning documents it reads ("SARIF support for code scanning"), and by an outside
consumer (Microsoft's sarif-tools reading every file)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sarif import loader

from swe_agents.analysis import exports
from swe_agents.runners import code_analyzer, pr_reviewer

from . import contexts
from .gitrepo import commit, git, make_repo
from .sarif_checks import LINE_HASH, SCHEMA, assert_github_requirements

SPAWN_PY = '''"""Two shell calls: a literal command (bandit: low) before a variable one (high)."""

import subprocess


def tidy():
    return subprocess.call("ls -l", shell=True)


def spawn(cmd, flags=[]):
    return subprocess.call(cmd, shell=True)


def branchy(a, b, c):
    if a:
        return 1
    if b:
        return 2
    if c and a:
        return 3
    return 4
'''
UTIL_JS = "function add(a, b) {\n  return a + b;\n}\n"
AGENT_ID = "6f1b0c2e-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = make_repo(
        tmp_path_factory.mktemp("sarif") / "repo",
        {"pkg/spawn.py": SPAWN_PY, "pkg/with space.py": "import os\n", "web/util.js": UTIL_JS},
    )
    main = git(path, "rev-parse", "HEAD")
    git(path, "checkout", "--quiet", "-b", "feature")
    head = commit(path, {"pkg/spawn.py": SPAWN_PY + "\n\ndef more():\n    x = 1\n"}, "more")
    git(path, "checkout", "--quiet", "main")
    return {"path": path, "main": main, "head": head}


@pytest.fixture(scope="module")
async def analysis(
    repo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> exports.SarifLog:
    ctx = contexts.analyzer(tmp_path_factory.mktemp("a"), repo["path"], complexity_threshold=3)
    result = await code_analyzer.run(ctx)
    return exports.sarif("code_analyzer", result, run_id="run-1", agent_id=AGENT_ID)


@pytest.fixture(scope="module")
async def review(
    repo: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> exports.SarifLog:
    ctx = contexts.reviewer(tmp_path_factory.mktemp("r"), repo["path"], "feature")
    result = await pr_reviewer.run(ctx)
    return exports.sarif("pr_reviewer", result, run_id="run-2", agent_id=AGENT_ID)


# A code_analyzer result as it was stored before rules, tools and line hashes were recorded.
OLD_RESULT = {
    "commit": "0" * 40,
    "findings": [
        {
            "tool": "bandit",
            "rule": "B602",
            "severity": "high",
            "message": "subprocess call with shell=True identified, security issue.",
            "path": "app/defects.py",
            "line": 15,
            "end_line": 15,
            "category": "security",
            "cwe": 78,
            "suggestion": None,
            "rule_name": "subprocess_popen_with_shell_equals_true",
            "help_url": "https://bandit.readthedocs.io/en/latest/plugins/b602.html",
            "fingerprint": "a" * 32,
        }
    ],
}


def runs_by_tool(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {run["tool"]["driver"]["name"]: run for run in document["runs"]}


def test_analysis_sarif_follows_the_oasis_schema(analysis: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(analysis)


def test_review_sarif_follows_the_oasis_schema(review: dict[str, Any]) -> None:
    jsonschema.Draft4Validator(SCHEMA).validate(review)


def test_analysis_sarif_has_what_github_reads(analysis: dict[str, Any]) -> None:
    assert_github_requirements(analysis)


def test_review_sarif_has_what_github_reads(review: dict[str, Any]) -> None:
    assert_github_requirements(review)


def test_each_tool_that_ran_has_a_run_even_with_nothing_found(analysis: dict[str, Any]) -> None:
    runs = runs_by_tool(analysis)
    assert set(runs) == {"bandit", "lizard", "radon", "ruff", "secrets"}
    assert runs["secrets"]["results"] == [] and runs["lizard"]["results"] == []
    assert runs["secrets"]["tool"]["driver"]["rules"] == []


def test_an_agents_analyses_and_reviews_have_their_own_categories(
    analysis: dict[str, Any], review: dict[str, Any]
) -> None:
    ids = {run["automationDetails"]["id"] for run in analysis["runs"]}
    assert ids == {f"swe-agents/{AGENT_ID}/analysis/run-1"}
    assert {run["automationDetails"]["id"] for run in review["runs"]} == {
        f"swe-agents/{AGENT_ID}/review/run-2"
    }


def test_provenance_names_the_repository_revision_and_branch(
    analysis: dict[str, Any], review: dict[str, Any], repo: dict[str, Any]
) -> None:
    analyzed = analysis["runs"][0]["versionControlProvenance"][0]
    assert analyzed["repositoryUri"] == f"file://{repo['path']}"
    assert (analyzed["revisionId"], analyzed["branch"]) == (repo["main"], "main")
    reviewed = review["runs"][0]["versionControlProvenance"][0]
    assert (reviewed["revisionId"], reviewed["branch"]) == (repo["head"], "feature")


def test_security_severity_belongs_to_the_rule_not_its_first_result(
    analysis: dict[str, Any],
) -> None:
    bandit = runs_by_tool(analysis)["bandit"]
    shell = [r for r in bandit["results"] if r["ruleId"] == "B602"]
    lines = [
        (r["locations"][0]["physicalLocation"]["region"]["startLine"], r["level"]) for r in shell
    ]
    assert lines == [(7, "note"), (11, "error")]  # the first one found is the low one
    rule = next(r for r in bandit["tool"]["driver"]["rules"] if r["id"] == "B602")
    assert rule["properties"]["security-severity"] == "8.0"
    assert rule["defaultConfiguration"]["level"] == "error"
    assert rule["properties"]["precision"] == "high"
    assert "external/cwe/cwe-78" in rule["properties"]["tags"]


def test_rules_carry_the_tools_own_documentation(analysis: dict[str, Any]) -> None:
    ruff = runs_by_tool(analysis)["ruff"]
    b006 = next(r for r in ruff["tool"]["driver"]["rules"] if r["id"] == "B006")
    assert "mutable" in b006["fullDescription"]["text"].lower()
    assert b006["help"]["markdown"].startswith("## What it does")
    assert b006["helpUri"].startswith("https://docs.astral.sh/ruff/rules/")
    bandit = runs_by_tool(analysis)["bandit"]
    b602 = next(r for r in bandit["tool"]["driver"]["rules"] if r["id"] == "B602")
    assert "shell" in b602["shortDescription"]["text"].lower()


def test_regions_have_columns_where_the_tool_knows_them(analysis: dict[str, Any]) -> None:
    runs = runs_by_tool(analysis)
    for tool in ("ruff", "bandit"):
        for result in runs[tool]["results"]:
            region = result["locations"][0]["physicalLocation"]["region"]
            assert {"startColumn", "endColumn"} <= set(region), (tool, result)
    b006 = next(r for r in runs["ruff"]["results"] if r["ruleId"] == "B006")
    region = b006["locations"][0]["physicalLocation"]["region"]
    line = SPAWN_PY.splitlines()[region["startLine"] - 1]
    assert line[region["startColumn"] - 1 : region["endColumn"] - 1] == "[]"
    radon = runs["radon"]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert radon["startColumn"] == 1 and "endColumn" not in radon


def test_paths_are_uri_references(analysis: dict[str, Any]) -> None:
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for run in analysis["runs"]
        for r in run["results"]
    }
    assert "pkg/with%20space.py" in uris


def test_a_result_stored_before_rules_were_described_still_exports() -> None:
    document = exports.sarif("code_analyzer", OLD_RESULT)
    jsonschema.Draft4Validator(SCHEMA).validate(document)
    rule = document["runs"][0]["tool"]["driver"]["rules"][0]
    assert rule["properties"]["security-severity"] == "8.0"
    assert rule["help"]["text"] and rule["fullDescription"]["text"]
    result = document["runs"][0]["results"][0]
    assert LINE_HASH.match(result["partialFingerprints"]["primaryLocationLineHash"])


def test_sarif_tools_reads_every_file(
    analysis: dict[str, Any], review: dict[str, Any], tmp_path: Path
) -> None:
    documents = {
        "analysis": analysis,
        "review": review,
        "old": exports.sarif("code_analyzer", OLD_RESULT),
    }
    for name, document in documents.items():
        path = tmp_path / f"{name}.sarif"
        path.write_text(json.dumps(document))
        read = loader.load_sarif_file(str(path))
        expected = sum(len(run["results"]) for run in document["runs"])
        assert read.get_result_count() == expected, name
        records = read.get_records()
        assert len(records) == expected
        tools = {run["tool"]["driver"]["name"] for run in document["runs"] if run["results"]}
        assert {record["Tool"] for record in records} == tools
    # And its command line over the whole folder, as a CI job would run it.
    summary = subprocess.run(
        [sys.executable, "-m", "sarif", "summary", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert summary.returncode == 0, summary.stderr
    assert "error" in summary.stdout
