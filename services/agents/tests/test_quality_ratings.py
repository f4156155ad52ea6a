"""Quality formula version 2: SonarQube's three ratings on code that is not test code, weak
hashes outside password contexts are for review, test-only noise never counts; version 1 stays
reproducible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from swe_agents.analysis.findings import Finding
from swe_agents.analysis.pipeline import AnalysisReport
from swe_agents.analysis.scoring import quality_v1, quality_v2
from swe_agents.runners import code_analyzer

from . import contexts
from .gitrepo import make_repo

SIGNING_PY = '''"""Signatures and cache keys: SHA-1 and MD5 where no password is involved."""

import hashlib


def mac(key: bytes, data: bytes) -> bytes:
    return hashlib.sha1(key + data).digest()


def etag(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
'''
PASSWORDS_PY = '''"""A password stored as a fast, unsalted hash."""

import hashlib


def hash_password(password: str) -> str:
    return hashlib.md5(password.encode()).hexdigest()
'''
TEST_SIGNING_PY = '''"""pytest tests: asserts, a test password, requests to a local test server."""

import requests

from pkg.signing import etag, mac

PASSWORD = "correct-horse-battery"


def test_mac() -> None:
    assert mac(b"k", b"d") == mac(b"k", b"d")
    assert len(mac(b"k", b"d")) == 20


def test_etag() -> None:
    assert etag(b"x") != etag(b"y")


def test_server() -> None:
    assert requests.get("http://127.0.0.1:8000/").status_code == 200
    assert requests.post("http://127.0.0.1:8000/", data=PASSWORD).ok
'''
CONFTEST_PY = """import random


def pytest_configure() -> None:
    assert random.random() < 2
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_repo(
        tmp_path_factory.mktemp("quality") / "repo",
        {
            "pkg/__init__.py": "",
            "pkg/signing.py": SIGNING_PY,
            "tests/test_signing.py": TEST_SIGNING_PY,
            "tests/conftest.py": CONFTEST_PY,
        },
    )


@pytest.fixture(scope="module")
async def v2(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> AnalysisReport:
    return await code_analyzer.run(contexts.analyzer(tmp_path_factory.mktemp("v2"), repo))


@pytest.fixture(scope="module")
async def v1(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> AnalysisReport:
    ctx = contexts.analyzer(tmp_path_factory.mktemp("v1"), repo, quality_formula="1")
    return await code_analyzer.run(ctx)


def test_a_weak_hash_outside_a_password_context_is_for_review(v2: dict[str, Any]) -> None:
    weak = [f for f in v2["findings"] if f["rule"] == "B324"]
    assert [(f["path"], f["kind"]) for f in weak] == [("pkg/signing.py", "hotspot")] * 2
    quality = v2["quality"]
    assert quality["formula_version"] == "2"
    assert quality["ratings"]["security"]["rating"] == "A"
    assert quality["to_review"]["by_rule"]["bandit:B324"] == 2
    assert (quality["rating"], quality["score"]) == ("A", 100.0)


def test_test_code_is_not_rated_and_is_shown_apart(v2: dict[str, Any]) -> None:
    in_tests = [f for f in v2["findings"] if f["path"].startswith("tests/")]
    assert in_tests and all(f["test"] for f in in_tests)
    tests = v2["quality"]["tests"]
    assert tests["findings"] == len(in_tests)
    assert tests["lines_of_code"] == v2["test_lines_of_code"] > 0
    assert v2["quality"]["components"]["lines_of_code"] == (
        v2["lines_of_code"] - v2["test_lines_of_code"]
    )


def test_test_only_noise_never_counts_in_test_files(v2: dict[str, Any]) -> None:
    rules = {(f["path"], f["rule"]) for f in v2["findings"]}
    # Asserts (B101), a test password (B105), no timeout (B113), random (B311): none listed.
    for rule in ("B101", "B105", "B113", "B311"):
        assert not any(r == rule for _, r in rules), rule
    assert v2["quality"]["components"]["test_noise_dropped"] >= 9
    # The credential pattern in test code is test data: info, not high.
    secrets = [f for f in v2["findings"] if f["tool"] == "secrets"]
    assert [(f["path"], f["severity"]) for f in secrets] == [("tests/test_signing.py", "info")]


def test_formula_version_1_is_reproducible(v1: dict[str, Any], v2: dict[str, Any]) -> None:
    quality = v1["quality"]
    assert quality["formula_version"] == "1"
    # The weak hashes are high security findings to version 1: capped at D / 40.
    assert quality["components"]["worst_security_severity"] == "high"
    assert (quality["rating"], quality["score"]) == ("D", 40)
    assert v2["quality"]["v1"] == {"score": quality["score"], "rating": quality["rating"]}


async def test_a_weak_hash_of_a_password_is_a_vulnerability(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"pkg/passwords.py": PASSWORDS_PY})
    result = await code_analyzer.run(contexts.analyzer(tmp_path, repo))
    weak = next(f for f in result["findings"] if f["rule"] == "B324")
    assert (weak["kind"], weak["severity"]) == ("vulnerability", "high")
    quality = result["quality"]
    assert quality["ratings"]["security"] == {
        "rating": "D",
        "count": 1,
        "worst_severity": "high",
        "by_severity": {"info": 0, "low": 0, "medium": 0, "high": 1, "critical": 0},
    }
    assert (quality["rating"], quality["score"]) == ("D", 40)


async def test_the_agent_says_what_test_code_is(repo: Path, tmp_path: Path) -> None:
    ctx = contexts.analyzer(tmp_path, repo, test_paths=["pkg/signing.py"])
    result = await code_analyzer.run(ctx)
    tests = {f["path"] for f in result["findings"] if f["test"]}
    assert tests == {"pkg/signing.py"}
    # tests/ is code now: its asserts count (as hotspots, bandit's B101 outside tests).
    asserts = [f for f in result["findings"] if f["rule"] == "B101"]
    assert asserts and {f["kind"] for f in asserts} == {"hotspot"}
    assert result["quality"]["to_review"]["by_rule"]["bandit:B101"] == len(asserts)


def finding(tool: str, rule: str, severity: str, kind: str, **extra: Any) -> Finding:
    return Finding(
        tool=tool,
        rule=rule,
        severity=severity,
        message="m",
        path=extra.pop("path", "pkg/a.py"),
        line=1,
        end_line=1,
        category="security" if tool in ("bandit", "secrets") else "lint",
        kind=kind,
        **extra,
    )


def test_version_1_numbers_are_what_its_formula_says() -> None:
    findings = [
        finding("ruff", "F401", "low", "code_smell"),
        finding("radon", "CC", "medium", "code_smell"),
        finding("bandit", "B602", "high", "hotspot"),
    ]
    quality = quality_v1(findings, 100)
    # 5 + 10 + 30 = 45 minutes over 100 lines x 30: 1.5 %, score 97, capped by the high
    # security finding at D / 40.
    assert quality["components"]["remediation_minutes"] == 45
    assert quality["components"]["debt_ratio"] == 0.015
    assert (quality["rating"], quality["score"]) == ("D", 40)


def test_version_2_rates_each_quality_by_its_own_rule() -> None:
    findings = [
        finding("ruff", "F401", "low", "code_smell"),
        finding("radon", "CC", "critical", "code_smell"),
        finding("ruff", "F821", "high", "bug", path="tests/test_a.py", test=True),
        finding("ruff", "B006", "medium", "bug"),
        finding("bandit", "B324", "high", "hotspot"),
        finding("bandit", "B101", "low", "hotspot", path="tests/test_a.py", test=True),
    ]
    quality = quality_v2(findings, 100, 50)
    ratings = quality["ratings"]
    # Smells: 5 + 60 = 65 minutes over 3000: 2.17 % -> A, score 95.7.
    assert ratings["maintainability"]["remediation_minutes"] == 65
    assert ratings["maintainability"]["rating"] == "A"
    # The medium bug rates reliability C; the high bug in test code does not count.
    assert ratings["reliability"]["rating"] == "C"
    # The hotspot is to review, not a vulnerability.
    assert ratings["security"]["rating"] == "A"
    assert quality["to_review"] == {"count": 1, "by_rule": {"bandit:B324": 1}}
    assert (quality["rating"], quality["score"]) == ("C", 60)
    assert quality["tests"]["findings"] == 1  # B101 in a test file is noise, not counted
    assert quality["components"]["test_noise_dropped"] == 1
