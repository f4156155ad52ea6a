"""Each tool's JSON output turned into :class:`Finding` s (pure functions, no I/O)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import PurePosixPath
from typing import Any, NotRequired, TypedDict

from swe_agents.analysis.findings import Finding
from swe_agents.analysis.tools import ToolError

# Ruff rules this platform reports: real errors, likely bugs, performance (PERF) and
# simplifications. Style-only families are left out so the score means something.
RUFF_SELECT = "E4,E7,E9,F,B,PERF,SIM,C4,PLE,ASYNC"
RUFF_HIGH = {"E902", "E999", "F821", "F822", "F823", "F632", "F811"}
RUFF_LOW = {"F401", "F841", "F541", "E401", "E402"}

RADON_SEVERITY = {"C": "medium", "D": "high", "E": "high", "F": "critical"}
# Bandit quotes the password it found in these messages; a report must never repeat a secret.
BANDIT_SECRET_RULES = {"B105", "B106", "B107"}
BANDIT_SEVERITY = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high", "UNDEFINED": "info"}


class FunctionComplexity(TypedDict):
    """One function's cyclomatic complexity (radon's for Python, lizard's for the rest): a
    code analysis lists the worst, a review compares them with the base's."""

    path: str
    function: str  # the qualified name once annotated (pipeline.annotate)
    line: int
    end_line: int
    column: NotRequired[int]  # radon's only
    complexity: int
    rank: str | None  # radon's letter (A..F); lizard has none
    test: NotRequired[bool]  # set by pipeline.annotate: in test code


def _load(tool: str, text: str) -> Any:
    # A tool's own JSON, as it prints it: each parser below reads the shape its tool documents.
    try:
        return json.loads(text) if text.strip() else None
    except json.JSONDecodeError as exc:
        raise ToolError(f"{tool} printed output that is not JSON: {exc}") from None


def relative(path: str, root: str) -> str:
    """A POSIX path relative to the checkout (tools print absolute or ./-prefixed ones); a path
    outside it is returned as it is (the pipeline keeps only findings on the files it gave)."""
    pure = PurePosixPath(path)
    if pure.is_absolute():
        if not pure.is_relative_to(root):
            return path
        pure = pure.relative_to(root)
    return str(pure).removeprefix("./")


def ruff_severity(code: str) -> str:
    if code in RUFF_HIGH or code.startswith(("E9", "PLE")):
        return "high"
    if code in RUFF_LOW or code.startswith(("E4", "SIM", "C4")):
        return "low" if code in RUFF_LOW or code.startswith("E4") else "info"
    if code.startswith("PERF"):
        return "low"
    return "medium"


def parse_ruff(text: str, root: str) -> list[Finding]:
    findings = []
    for item in _load("ruff", text) or []:
        code = item.get("code") or "E999"  # ruff reports syntax errors without a code
        fix = item.get("fix") or {}
        start, end = item["location"], item.get("end_location") or item["location"]
        findings.append(
            Finding(
                tool="ruff",
                rule=code,
                severity=ruff_severity(code),
                message=item["message"],
                path=relative(item["filename"], root),
                line=start["row"],
                end_line=end["row"],
                # ruff's columns are 1-based and its end is exclusive, as SARIF's.
                column=start.get("column"),
                end_column=end.get("column") if end is not start else None,
                category="performance" if code.startswith("PERF") else "lint",
                suggestion=fix.get("message"),
                rule_name=item.get("name"),
                help_url=item.get("url"),
            )
        )
    return findings


def parse_radon_cc(
    text: str, root: str, threshold: int
) -> tuple[list[Finding], list[FunctionComplexity]]:
    """Complexity findings (above ``threshold``) and every function's complexity, each once."""
    findings: list[Finding] = []
    functions: list[FunctionComplexity] = []
    for path, blocks in (_load("radon", text) or {}).items():
        if not isinstance(blocks, list):  # radon reports a file it cannot parse as {"error"}
            continue
        rel = relative(path, root)
        for block in unique_blocks(_flatten(blocks)):
            name = (
                block["name"]
                if not block.get("classname")
                else f"{block['classname']}.{block['name']}"
            )
            entry: FunctionComplexity = {
                "path": rel,
                "function": name,
                "line": block["lineno"],
                "end_line": block.get("endline", block["lineno"]),
                "column": int(block.get("col_offset", 0)) + 1,
                "complexity": block["complexity"],
                "rank": block["rank"],
            }
            functions.append(entry)
            if block["complexity"] > threshold:
                findings.append(
                    Finding(
                        tool="radon",
                        rule="CC",
                        severity=RADON_SEVERITY.get(block["rank"], "medium"),
                        message=(
                            f"{name} has cyclomatic complexity {block['complexity']} "
                            f"(rank {block['rank']}; limit {threshold})"
                        ),
                        path=rel,
                        line=entry["line"],
                        end_line=entry["end_line"],
                        column=entry["column"],
                        category="complexity",
                        suggestion="Split the function into smaller ones with fewer branches.",
                        rule_name="cyclomatic-complexity",
                        extra={"function": name, "complexity": block["complexity"]},
                    )
                )
    functions.sort(key=lambda f: (-f["complexity"], f["path"], f["line"]))
    return findings, functions


def unique_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each (line, function) once: ``radon cc -j`` lists a method both inside its class block
    and again on its own. (Blocks are radon's JSON as it prints it.)"""
    seen: set[tuple[int, str, str]] = set()
    result = []
    for block in blocks:
        key = (block["lineno"], block.get("classname") or "", block["name"])
        if key not in seen:
            seen.add(key)
            result.append(block)
    return result


def _flatten(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Functions and methods (radon nests methods inside their class block; radon's JSON)."""
    result: list[dict[str, Any]] = []
    for block in blocks:
        if block.get("type") == "class":
            result.extend(m for m in block.get("methods", []))
        else:
            result.append(block)
            result.extend(_flatten(block.get("closures", [])))
    return result


def parse_radon_mi(text: str, root: str) -> dict[str, float]:
    scores = {}
    for path, value in (_load("radon", text) or {}).items():
        if isinstance(value, dict) and "mi" in value:
            scores[relative(path, root)] = round(float(value["mi"]), 2)
    return dict(sorted(scores.items()))


def parse_bandit(text: str, root: str) -> list[Finding]:
    findings = []
    data = _load("bandit", text) or {}
    for item in data.get("results", []):
        cwe = (item.get("issue_cwe") or {}).get("id")
        lines = item.get("line_range") or [item["line_number"]]
        findings.append(
            Finding(
                tool="bandit",
                rule=item["test_id"],
                severity=BANDIT_SEVERITY.get(item["issue_severity"], "low"),
                message=_bandit_message(item),
                path=relative(item["filename"], root),
                line=item["line_number"],
                end_line=max(lines),
                # bandit's offsets are the AST's: 0-based, the end exclusive.
                column=_column(item.get("col_offset")),
                end_column=_column(item.get("end_col_offset")),
                category="security",
                cwe=int(cwe) if cwe else None,
                rule_name=item.get("test_name"),
                help_url=item.get("more_info"),
                extra={"confidence": item.get("issue_confidence", "").lower()},
            )
        )
    return findings


def _column(offset: Any) -> int | None:
    return offset + 1 if isinstance(offset, int) and offset >= 0 else None


def _bandit_message(item: dict[str, Any]) -> str:
    text = str(item["issue_text"])
    if item["test_id"] in BANDIT_SECRET_RULES:
        return text.split(":", 1)[0] + " (value redacted)"
    return text


def lizard_severity(ccn: int) -> str:
    return "high" if ccn > 20 else "medium"


def parse_lizard(
    text: str, root: str, threshold: int
) -> tuple[list[Finding], list[FunctionComplexity]]:
    """lizard --csv rows: NLOC, CCN, tokens, params, length, location, file, name, long name,
    start, end. Paths are as given (absolute, under ``root``)."""
    findings: list[Finding] = []
    functions: list[FunctionComplexity] = []
    for row in csv.reader(io.StringIO(text)):
        if len(row) < 11 or not row[1].isdigit():
            continue
        ccn, path, name, start, end = (
            int(row[1]),
            relative(row[6], root),
            row[7],
            int(row[9]),
            int(row[10]),
        )
        functions.append(
            {
                "path": path,
                "function": name,
                "line": start,
                "end_line": end,
                "complexity": ccn,
                "rank": None,
            }
        )
        if ccn > threshold:
            findings.append(
                Finding(
                    tool="lizard",
                    rule="CCN",
                    severity=lizard_severity(ccn),
                    message=f"{name} has cyclomatic complexity {ccn} (limit {threshold})",
                    path=path,
                    line=start,
                    end_line=end,
                    category="complexity",
                    suggestion="Split the function into smaller ones with fewer branches.",
                    rule_name="cyclomatic-complexity",
                )
            )
    return findings, functions
