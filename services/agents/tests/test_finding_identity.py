"""Each finding once, under an identity that survives reformatting: radon's methods are not
counted twice, fingerprints do not change when a formatter re-wraps a line, and complexity
changes match functions by qualified name and position (``@overload`` stubs included)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swe_agents.analysis import exports, pipeline
from swe_agents.runners import code_analyzer, pr_reviewer

from . import contexts
from .gitrepo import commit, git, make_repo

PARSER_PY = '''"""A class whose methods radon lists twice (inside the class and on their own)."""


class Parser:
    def parse(self, a, b):
        if a:
            return 1
        if b:
            return 2
        return 3

    def check(self, a):
        if a and a > 1:
            return True
        return False


def outer(a):
    def inner(b):
        if b:
            return 1
        if a:
            return 2
        return 3

    return inner
'''

HANDLER_PY = """import hashlib


def handle(request, options={}, retries=3):
    if request:
        return 1
    if options:
        return 2
    digest = hashlib.md5(b'payload', usedforsecurity=True)
    return eval('retries + 1') if digest else 0
"""
# What a formatter makes of it: the signature exploded with a trailing comma, double quotes,
# a call split over lines, a comment added.
HANDLER_REFORMATTED_PY = """import hashlib


def handle(
    request,
    options={},
    retries=3,
):
    if request:
        return 1
    if options:  # kept
        return 2
    digest = hashlib.md5(
        b"payload",
        usedforsecurity=True,
    )
    return (
        eval("retries + 1") if digest else 0
    )
"""

OVERLOADED_PY = """from typing import overload


@overload
def pick(x: int) -> int: ...
@overload
def pick(x: str) -> str: ...
def pick(x):
    if x == 1:
        return 1
    if x == 2:
        return 2
    if x == 3:
        return 3
    return x
"""
OVERLOADED_MORE_PY = OVERLOADED_PY.replace(
    "    return x\n", "    if x == 4:\n        return 4\n    return x\n"
)


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.fixture(scope="module")
async def parser_report(tmp_path_factory: pytest.TempPathFactory) -> pipeline.AnalysisReport:
    tmp = tmp_path_factory.mktemp("parser")
    repo = make_repo(tmp / "repo", {"app/parser.py": PARSER_PY})
    return await code_analyzer.run(contexts.analyzer(tmp, repo, complexity_threshold=2))


def test_radon_counts_each_method_once(parser_report: dict[str, Any]) -> None:
    radon = [(f["path"], f["line"]) for f in parser_report["findings"] if f["tool"] == "radon"]
    expected = [
        ("app/parser.py", line_of(PARSER_PY, "def parse")),
        ("app/parser.py", line_of(PARSER_PY, "def check")),
        ("app/parser.py", line_of(PARSER_PY, "def inner")),
    ]
    assert sorted(radon) == sorted(expected)
    assert parser_report["counts"]["by_rule"]["radon:CC"] == 3


def test_worst_functions_list_each_function_once_under_its_qualified_name(
    parser_report: dict[str, Any],
) -> None:
    names = [f["function"] for f in parser_report["worst_functions"]]
    assert sorted(names) == ["Parser.check", "Parser.parse", "outer", "outer.<locals>.inner"]


def test_sarif_and_debt_count_each_method_once(parser_report: dict[str, Any]) -> None:
    document = exports.sarif("code_analyzer", parser_report)
    radon = next(r for r in document["runs"] if r["tool"]["driver"]["name"] == "radon")
    assert len(radon["results"]) == 3
    smells = parser_report["quality"]["ratings"]["maintainability"]
    # Three functions over the limit, medium each (10 minutes): 30 minutes, not 50 (the other
    # smell is ruff's SIM103, info: 0 minutes).
    assert smells["by_severity"]["medium"] == 3
    assert smells["remediation_minutes"] == 30


@pytest.fixture(scope="module")
async def reformatted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("reformat")
    repo = make_repo(tmp / "repo", {"app/handler.py": HANDLER_PY})
    git(repo, "checkout", "--quiet", "-b", "format")
    commit(repo, {"app/handler.py": HANDLER_REFORMATTED_PY}, "format")
    git(repo, "checkout", "--quiet", "main")
    before = await code_analyzer.run(contexts.analyzer(tmp / "a", repo, complexity_threshold=2))
    after = await code_analyzer.run(
        contexts.analyzer(tmp / "b", repo, ref="format", complexity_threshold=2)
    )
    review = await pr_reviewer.run(
        contexts.reviewer(tmp / "c", repo, "format", complexity_threshold=2)
    )
    return {"before": before, "after": after, "review": review}


def test_fingerprints_survive_a_formatter(reformatted: dict[str, Any]) -> None:
    def prints(report: dict[str, Any]) -> dict[tuple[str, str], str]:
        return {(f["tool"], f["rule"]): f["fingerprint"] for f in report["findings"]}

    before, after = prints(reformatted["before"]), prints(reformatted["after"])
    for key in [("radon", "CC"), ("ruff", "B006"), ("bandit", "B307"), ("bandit", "B324")]:
        assert key in before, key
        assert before[key] == after[key], key
    moved = {f["rule"]: f["line"] for f in reformatted["after"]["findings"]}
    assert moved["B006"] == line_of(HANDLER_REFORMATTED_PY, "options={}")


def test_a_reformatting_pull_request_brings_no_new_finding(reformatted: dict[str, Any]) -> None:
    review = reformatted["review"]
    rules = {c["rule"] for c in review["comments"]}
    assert {"CC", "B006", "B307"} <= rules, review["comments"]
    assert [c for c in review["comments"] if c["new"]] == []
    assert review["approval"] == "comment"


def test_the_github_line_hash_ignores_formatting_too(reformatted: dict[str, Any]) -> None:
    def hashes(report: dict[str, Any]) -> dict[str, str]:
        return {f["rule"]: f["line_hash"] for f in report["findings"]}

    before, after = hashes(reformatted["before"]), hashes(reformatted["after"])
    assert before["B307"] == after["B307"]
    assert before["B307"].split(":")[1] == "1"


async def test_overload_stubs_do_not_read_as_complexity_changes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"app/pick.py": OVERLOADED_PY})
    git(repo, "checkout", "--quiet", "-b", "more")
    commit(repo, {"app/pick.py": OVERLOADED_MORE_PY}, "one more case")
    git(repo, "checkout", "--quiet", "main")
    review = await pr_reviewer.run(contexts.reviewer(tmp_path, repo, "more", level="standard"))
    changes = [(d["function"], d["line"], d["before"], d["after"]) for d in review["complexity"]]
    assert changes == [("pick", line_of(OVERLOADED_MORE_PY, "def pick(x):"), 4, 5)]
