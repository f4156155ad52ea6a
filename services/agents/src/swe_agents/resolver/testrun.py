"""Running a repository's tests in the sandbox and reading which passed."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from swe_agents.analysis.classify import TestPaths
from swe_agents.sandbox import DEPS, CodeSandbox, SandboxResult

REPRO_FILE = "test_swe_reproduction.py"
OUTCOME = re.compile(r"^(PASSED|FAILED|ERROR|XPASS|XFAIL|SKIPPED) (\S+)", re.MULTILINE)


class TestRunDict(TypedDict):
    """What a test run said, as a resolver's result keeps it (``TestRun.to_dict()``)."""

    passed: list[str]
    failed: list[str]
    limit: str | None
    returncode: int


@dataclass
class TestRun:
    outcomes: dict[str, str] = field(default_factory=dict)  # test id -> PASSED | FAILED ...
    limit: str | None = None  # the sandbox limit that stopped the run, if any
    returncode: int = 0
    tail: str = ""

    @property
    def passed(self) -> set[str]:
        return {t for t, o in self.outcomes.items() if o in ("PASSED", "XFAIL")}

    def to_dict(self) -> TestRunDict:
        return {
            "passed": sorted(self.passed),
            "failed": sorted(t for t, o in self.outcomes.items() if o in ("FAILED", "ERROR")),
            "limit": self.limit,
            "returncode": self.returncode,
        }


def pytest_argv(files: list[str]) -> list[str]:
    # -I is not used: pytest puts the repository on sys.path the way its tests expect.
    return [
        "python",
        "-m",
        "pytest",
        "-q",
        "-rA",
        "--tb=line",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "--",
        *files,
    ]


def parse(result: SandboxResult) -> TestRun:
    outcomes = {m.group(2): m.group(1) for m in OUTCOME.finditer(result.output)}
    return TestRun(outcomes, result.limit, result.returncode, result.output[-2000:])


async def run_tests(
    sandbox: CodeSandbox, copy: Path, files: list[str], deps: Path | None = None
) -> TestRun:
    """Run ``files``' tests in ``copy``; ``deps``: the installed dependencies (read-only,
    first on the import path)."""
    if not files:
        return TestRun()
    # The pytest plugins installed beside the worker are not the repository's: not loaded.
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    if deps is not None:
        env["PYTHONPATH"] = DEPS
    return parse(await sandbox.run(pytest_argv(files), repo=copy, env=env, deps=deps))


def related_tests(root: Path, files: list[str], edited: list[str], tests: TestPaths) -> list[str]:
    """Test files that touch the edited code: they name an edited module."""
    modules = {Path(p).stem for p in edited if p.endswith(".py")} - {"__init__"}
    found = []
    for rel in files:
        if rel not in tests or not Path(rel).name.startswith("test"):
            continue
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
        if any(re.search(rf"\b{re.escape(m)}\b", text) for m in modules):
            found.append(rel)
    return found


def copy_tree(source: Path, target: Path, files: dict[str, str]) -> Path:
    """A copy of the working copy (without .git) with ``files`` written over it."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".git"), symlinks=True)
    for rel, text in files.items():
        path = target / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target
