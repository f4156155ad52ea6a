"""The analyzer steps on a tree of files: which files, which tools, the combined report.

Every step is deterministic for a given tree: findings are sorted, no times or absolute paths
end up in the report (timings go to the run log instead).

The tools never run in the checkout, which is made read-only first: their cwd and HOME are a
scratch folder of the run (a repository's ``setup.cfg`` or ``pyproject.toml`` would otherwise
set radon's options, its ``output_file`` among them), they get absolute paths after ``--``, and
only findings on the files they were given are kept.

Each finding is then kept once (a tool may list one twice: radon lists a method inside its class
and again on its own), classified (classify.py: its kind, and whether it is in test code),
fingerprinted, and the rules that fired are described for the exports (rules.py).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sized
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NotRequired, TypedDict, TypeVar, cast

from swe_agents.analysis import rules, tool_parsers
from swe_agents.analysis.checkout import seal, workspace
from swe_agents.analysis.classify import TestPaths, classify, is_test_noise
from swe_agents.analysis.findings import Finding, FindingDict, fingerprint_all, severity_at_least
from swe_agents.analysis.rules import RuleInfo
from swe_agents.analysis.scoring import DEFAULT_FORMULA, Quality, quality
from swe_agents.analysis.secrets import scan_files
from swe_agents.analysis.source import Sources
from swe_agents.analysis.tool_parsers import FunctionComplexity
from swe_agents.analysis.tools import Sandbox, clean_env, path_operands, python_tool, run_tool
from swe_common import tracing

LogFn = Callable[[str, dict[str, Any]], Awaitable[None]]
SKIP_DIRS = {
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "node_modules",
    "__pycache__",
    ".tox",
    "build",
    "dist",
}
# Files are passed on the command line; chunks keep argv well under the OS limit.
CHUNK = 400
# A step's result: its findings, or a tuple whose first item is its findings.
_Found = TypeVar("_Found", bound=Sized)


async def _no_log(_message: str, _fields: dict[str, Any]) -> None:
    return None


@dataclass(frozen=True)
class AnalysisOptions:
    lint: bool = True
    secrets: bool = True
    complexity: bool = True
    security: bool = True
    complexity_threshold: int = 10
    tool_timeout: float = 300.0
    worst_functions: int = 10
    tests: TestPaths = field(default_factory=TestPaths)
    quality_formula: str = DEFAULT_FORMULA


@dataclass
class TreeAnalysis:
    findings: list[Finding]
    functions: list[FunctionComplexity] = field(default_factory=list)
    maintainability: dict[str, float] = field(default_factory=dict)
    lines_of_code: int = 0  # every Python file's, test code included
    test_lines_of_code: int = 0
    files: list[str] = field(default_factory=list)
    other_files: list[str] = field(default_factory=list)
    tools: dict[str, str] = field(default_factory=dict)  # each tool that ran -> its version
    rules: dict[str, RuleInfo] = field(default_factory=dict)  # "tool:rule" -> description


class ToolResults(TypedDict, total=False):
    """What each tool that ran gave (radon: complexity findings, functions, maintainability)."""

    ruff: list[Finding]
    radon: tuple[list[Finding], list[FunctionComplexity], dict[str, float]]
    bandit: list[Finding]
    secrets: list[Finding]
    lizard: tuple[list[Finding], list[FunctionComplexity]]


class Counts(TypedDict):
    total: int
    by_severity: dict[str, int]
    by_rule: dict[str, int]  # "tool:rule" -> findings
    by_tool: dict[str, int]


class MaintainabilitySummary(TypedDict):
    average: float | None
    worst_files: list[tuple[str, float]]  # (path, maintainability index), worst first


class AnalysisReport(TypedDict):
    """The code_analyzer result document (``report``; the runner adds what it analyzed)."""

    summary: str
    files_analyzed: int
    lines_of_code: int
    test_lines_of_code: int
    counts: Counts
    findings_by_severity: dict[str, int]
    worst_functions: list[FunctionComplexity]
    maintainability: MaintainabilitySummary
    security: list[FindingDict]
    performance: list[FindingDict]
    quality: Quality
    quality_score: float
    findings: list[FindingDict]
    tools: dict[str, str]  # each tool that ran -> its version
    rules: dict[str, RuleInfo]  # "tool:rule" -> description
    # Set by the code_analyzer runner: what was analyzed, and the agent's gate when it has one.
    ref: NotRequired[str]
    commit: NotRequired[str]
    steps: NotRequired[list[str]]
    repository_url: NotRequired[str | None]
    branch: NotRequired[str | None]
    passed: NotRequired[bool]  # quality_score >= the agent's fail_under_score


# Languages lizard measures besides Python (which radon covers).
LIZARD_SUFFIXES = {
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".hpp",
    ".cs",
    ".go",
    ".java",
    ".js",
    ".jsx",
    ".kt",
    ".lua",
    ".m",
    ".php",
    ".rb",
    ".rs",
    ".scala",
    ".swift",
    ".ts",
    ".tsx",
}


def list_python_files(root: Path) -> list[str]:
    """Relative paths of the tree's Python files, sorted (blocking: call from a thread)."""
    return list_files(root, {".py"})


def list_other_sources(root: Path) -> list[str]:
    return list_files(root, LIZARD_SUFFIXES)


def representable(path: str) -> bool:
    """Whether a repository path can be named in a report as it is: valid UTF-8. A name with
    invalid bytes (a surrogate escape from the file system, a replacement character from git's
    decoded output) is skipped, never guessed at; control characters are fine (JSON escapes
    them)."""
    if "\ufffd" in path:
        return False
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def list_files(root: Path, suffixes: set[str]) -> list[str]:
    result = []
    for path in root.rglob("*"):
        if path.suffix not in suffixes:
            continue
        rel = path.relative_to(root)
        if not representable(rel.as_posix()):
            continue
        if any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1]):
            continue
        if path.is_file() and not path.is_symlink():
            result.append(rel.as_posix())
    return sorted(result)


def regular_files(root: Path, paths: list[str]) -> list[str]:
    """Those of ``paths`` that are regular files in the tree (a link in the repository is not
    unpacked, so it is not analyzed). Blocking: call from a thread."""
    return [p for p in paths if (root / p).is_file() and not (root / p).is_symlink()]


def count_lines(root: Path, files: list[str]) -> int:
    """Non-blank lines (blocking: call from a thread)."""
    total = 0
    for rel in files:
        try:
            text = (root / rel).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        total += sum(1 for line in text.splitlines() if line.strip())
    return total


def _chunks(files: list[str]) -> list[list[str]]:
    return [files[i : i + CHUNK] for i in range(0, len(files), CHUNK)]


@dataclass(frozen=True)
class ToolRun:
    """Where tools run: the tree they read, the run's scratch folder (their cwd, HOME and only
    writable place) and the sandbox around them."""

    root: Path
    scratch: Path
    sandbox: Sandbox


async def _tool(
    run: ToolRun, module: str, options: list[str], files: list[str], limit: float
) -> list[str]:
    outputs = []
    env = clean_env(home=run.scratch, extra={"TMPDIR": str(run.scratch)})
    for chunk in _chunks(files):
        argv = python_tool(module, *options, *path_operands(run.root / f for f in chunk))
        command = run.sandbox.command(argv, readable=[run.root], scratch=run.scratch)
        result = await run_tool(command, cwd=run.scratch, limit=limit, env=env)
        outputs.append(result.stdout)
    return outputs


async def run_ruff(run: ToolRun, files: list[str], limit: float) -> list[Finding]:
    args = [
        "check",
        "--isolated",
        "--no-cache",
        "--exit-zero",
        "--output-format",
        "json",
        "--select",
        tool_parsers.RUFF_SELECT,
    ]
    outputs = await _tool(run, "ruff", args, files, limit)
    return [f for out in outputs for f in tool_parsers.parse_ruff(out, str(run.root))]


async def run_radon(
    run: ToolRun, files: list[str], limit: float, threshold: int
) -> tuple[list[Finding], list[FunctionComplexity], dict[str, float]]:
    root = run.root
    cc_out = await _tool(run, "radon", ["cc", "-j", "-s"], files, limit)
    mi_out = await _tool(run, "radon", ["mi", "-j"], files, limit)
    findings: list[Finding] = []
    functions: list[FunctionComplexity] = []
    for out in cc_out:
        found, funcs = tool_parsers.parse_radon_cc(out, str(root), threshold)
        findings += found
        functions += funcs
    functions.sort(key=lambda f: (-f["complexity"], f["path"], f["line"]))
    mi: dict[str, float] = {}
    for out in mi_out:
        mi.update(tool_parsers.parse_radon_mi(out, str(root)))
    return findings, functions, dict(sorted(mi.items()))


async def run_bandit(run: ToolRun, files: list[str], limit: float) -> list[Finding]:
    outputs = await _tool(run, "bandit", ["-f", "json", "-q"], files, limit)
    return [f for out in outputs for f in tool_parsers.parse_bandit(out, str(run.root))]


async def run_lizard(
    run: ToolRun, files: list[str], limit: float, threshold: int
) -> tuple[list[Finding], list[FunctionComplexity]]:
    outputs = await _tool(run, "lizard", ["--csv", "-t", "1"], files, limit)
    findings: list[Finding] = []
    functions: list[FunctionComplexity] = []
    for out in outputs:
        found, funcs = tool_parsers.parse_lizard(out, str(run.root), threshold)
        findings += found
        functions += funcs
    return findings, functions


async def _timed(name: str, log: LogFn, work: Awaitable[_Found]) -> _Found:
    """One analysis step (a tool), logged and, with tracing on, a span."""
    started = time.perf_counter()
    with tracing.span(f"step {name}", **{"swe.analysis.tool": name}) as span:
        await log(f"{name}: started", {"tool": name})
        result = await work
        count = len(result[0]) if isinstance(result, tuple) else len(result)
        if span is not None:
            span.set_attribute("swe.analysis.findings", count)
    elapsed = round((time.perf_counter() - started) * 1000)
    await log(
        f"{name}: {count} findings in {elapsed} ms",
        {"tool": name, "findings": count, "ms": elapsed},
    )
    return result


def _python_jobs(
    run: ToolRun, files: list[str], options: AnalysisOptions, log: LogFn
) -> dict[str, Awaitable[Any]]:
    jobs: dict[str, Awaitable[Any]] = {}
    limit = options.tool_timeout
    if options.lint:
        jobs["ruff"] = _timed("ruff", log, run_ruff(run, files, limit))
    if options.complexity:
        jobs["radon"] = _timed(
            "radon", log, run_radon(run, files, limit, options.complexity_threshold)
        )
    if options.security:
        jobs["bandit"] = _timed("bandit", log, run_bandit(run, files, limit))
    if options.secrets:
        scan = asyncio.to_thread(scan_files, run.root, files, None, options.tests)
        jobs["secrets"] = _timed("secrets", log, scan)
    return jobs


async def _run_jobs(
    run: ToolRun, files: list[str], other: list[str], options: AnalysisOptions, log: LogFn
) -> ToolResults:
    if run.sandbox.warning:
        await log(f"warning: {run.sandbox.warning}", {"step": "sandbox"})
    jobs = _python_jobs(run, files, options, log) if files else {}
    if options.complexity and other:
        jobs["lizard"] = _timed(
            "lizard",
            log,
            run_lizard(run, other, options.tool_timeout, options.complexity_threshold),
        )
    # Each job is keyed by its tool, as ToolResults names them (gather loses each one's type).
    return cast(ToolResults, dict(zip(jobs, await asyncio.gather(*jobs.values()), strict=True)))


async def analyze_tree(
    root: Path,
    files: list[str],
    options: AnalysisOptions,
    log: LogFn = _no_log,
    other_files: list[str] | None = None,
    *,
    sandbox: Sandbox,
) -> TreeAnalysis:
    """Run the selected tools on ``files`` (Python, relative to ``root``) concurrently, and
    lizard on ``other_files`` (other languages) when complexity is wanted, in ``sandbox``
    with a scratch folder made beside ``root``."""
    other = other_files or []
    with tracing.span(
        "step analyze", **{"swe.analysis.files": len(files), "swe.analysis.other_files": len(other)}
    ):
        return await _analyze_tree(root, files, options, log, other, sandbox)


async def _analyze_tree(
    root: Path,
    files: list[str],
    options: AnalysisOptions,
    log: LogFn,
    other: list[str],
    sandbox: Sandbox,
) -> TreeAnalysis:
    analysis = TreeAnalysis(findings=[], files=files, other_files=other)
    if not files and not (other and options.complexity):
        return analysis
    await asyncio.to_thread(seal, root)
    async with workspace(root.parent) as scratch:
        results = await _run_jobs(ToolRun(root, scratch, sandbox), files, other, options, log)
    given = {*files, *other}
    # In the order the jobs were started (the tools' findings and functions keep it).
    findings: list[Finding] = [*results.get("ruff", [])]
    if "radon" in results:
        cc, functions, maintainability = results["radon"]
        analysis.maintainability = {p: v for p, v in maintainability.items() if p in given}
        analysis.functions += functions
        findings += cc
    findings += results.get("bandit", [])
    findings += results.get("secrets", [])
    if "lizard" in results:
        found, functions = results["lizard"]
        analysis.functions += functions
        findings += found
    # A tool's output names only the files it was given; anything else is not trusted.
    findings = unique_findings([f for f in findings if f.path in given])
    functions = unique_functions([f for f in analysis.functions if f["path"] in given])
    analysis.findings, analysis.functions = await asyncio.to_thread(
        annotate, root, findings, functions, options.tests
    )
    analysis.lines_of_code = await asyncio.to_thread(count_lines, root, files)
    tests = [f for f in files if f in options.tests]
    analysis.test_lines_of_code = await asyncio.to_thread(count_lines, root, tests)
    analysis.tools = rules.tool_versions(results)
    analysis.rules = await rules.describe(analysis.findings)
    return analysis


def unique_findings(findings: list[Finding]) -> list[Finding]:
    """Each finding once, by (tool, rule, file, line, column, message)."""
    seen: set[tuple[Any, ...]] = set()
    result = []
    for f in findings:
        key = (f.tool, f.rule, f.path, f.line, f.column, f.message)
        if key not in seen:
            seen.add(key)
            result.append(f)
    return result


def unique_functions(functions: list[FunctionComplexity]) -> list[FunctionComplexity]:
    """Each function once, by (file, line, function)."""
    seen: set[tuple[str, int, str]] = set()
    result = []
    for f in functions:
        key = (f["path"], f["line"], f["function"])
        if key not in seen:
            seen.add(key)
            result.append(f)
    return result


def annotate(
    root: Path, findings: list[Finding], functions: list[FunctionComplexity], tests: TestPaths
) -> tuple[list[Finding], list[FunctionComplexity]]:
    """Findings classified and fingerprinted; functions under their qualified names (the AST's:
    ``Class.method``, ``outer.<locals>.inner``) and marked when in test code. Blocking reads:
    call from a thread."""
    sources = Sources(root)
    findings = [_character_columns(f, sources) for f in findings]
    annotated = fingerprint_all(root, classify(findings, tests, sources), sources)
    named: list[FunctionComplexity] = []
    for f in functions:
        qualname = (
            sources[f["path"]].definitions.get(f["line"]) if f["path"].endswith(".py") else None
        )
        named.append({**f, "function": qualname or f["function"], "test": f["path"] in tests})
    named.sort(key=lambda f: (-f["complexity"], f["path"], f["line"]))
    return annotated, named


def _character_columns(finding: Finding, sources: Sources) -> Finding:
    """bandit's columns are the AST's UTF-8 byte offsets; a report counts characters."""
    if finding.tool != "bandit" or finding.column is None:
        return finding
    lines = sources[finding.path].lines

    def chars(line: int, column: int | None) -> int | None:
        if column is None or not 0 < line <= len(lines):
            return column
        data = lines[line - 1].encode("utf-8")
        return len(data[: column - 1].decode("utf-8", errors="ignore")) + 1

    return replace(
        finding,
        column=chars(finding.line, finding.column),
        end_column=chars(finding.end_line, finding.end_column),
    )


def shown(findings: list[Finding]) -> list[Finding]:
    """The findings a report lists and counts: all but test noise (B101 in a test file...)."""
    return [f for f in findings if not is_test_noise(f)]


def counts(findings: list[Finding]) -> Counts:
    by_rule = Counter(f"{f.tool}:{f.rule}" for f in findings)
    by_severity = Counter(f.severity for f in findings)
    return {
        "total": len(findings),
        "by_severity": {
            s: by_severity.get(s, 0) for s in ("critical", "high", "medium", "low", "info")
        },
        "by_rule": dict(sorted(by_rule.items())),
        "by_tool": dict(sorted(Counter(f.tool for f in findings).items())),
    }


def security_findings(findings: list[Finding]) -> list[FindingDict]:
    return [f.to_dict() for f in findings if f.category in ("security", "secret")]


def score(analysis: TreeAnalysis, findings: list[Finding], formula: str) -> Quality:
    return quality(findings, analysis.lines_of_code, formula, analysis.test_lines_of_code)


def report(
    analysis: TreeAnalysis, options: AnalysisOptions, min_severity: str = "info"
) -> AnalysisReport:
    """The code_analyzer result document. Test code's findings are listed (``test: true``) but
    not rated, and neither its functions nor its files are among the worst."""
    listed = shown(analysis.findings)
    kept = [f for f in listed if severity_at_least(f.severity, min_severity)]
    source_mi = {p: v for p, v in analysis.maintainability.items() if p not in options.tests}
    mi_values = list(source_mi.values())
    q = score(analysis, analysis.findings, options.quality_formula)
    counted = counts(listed)
    return {
        "summary": (
            f"{len(analysis.files)} Python files, {len(analysis.other_files)} other source files, "
            f"{analysis.lines_of_code} Python lines ({analysis.test_lines_of_code} in tests): "
            f"{len(listed)} findings; quality {q['rating']} ({q['score']}/100)"
        ),
        "files_analyzed": len(analysis.files),
        "lines_of_code": analysis.lines_of_code,
        "test_lines_of_code": analysis.test_lines_of_code,
        "counts": counted,
        "findings_by_severity": counted["by_severity"],
        "worst_functions": [f for f in analysis.functions if not f["test"]][
            : options.worst_functions
        ],
        "maintainability": {
            "average": round(sum(mi_values) / len(mi_values), 2) if mi_values else None,
            "worst_files": sorted(source_mi.items(), key=lambda kv: kv[1])[:10],
        },
        "security": security_findings(listed),
        "performance": [f.to_dict() for f in listed if f.category == "performance"],
        "quality": q,
        "quality_score": q["score"],
        "findings": [f.to_dict() for f in kept],
        "tools": analysis.tools,
        "rules": described(analysis, kept),
    }


def described(analysis: TreeAnalysis, findings: list[Finding]) -> dict[str, RuleInfo]:
    """The descriptions of the rules ``findings`` break."""
    keys = {f"{f.tool}:{f.rule}" for f in findings}
    return {k: v for k, v in analysis.rules.items() if k in keys}
