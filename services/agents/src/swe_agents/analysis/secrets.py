"""Secret detection on source text (pure Python, run in a thread): the quick review level has it
even without bandit. Messages never repeat the secret itself.

Key material and credentials in test code (fixture folders, test files: ``classify.TestPaths``)
are test data — a TLS test suite ships its keys — so they are reported as ``info``, saying so.
A value that is a template placeholder (``"%(secret)s"``, ``"{token}"``, ``"${API_KEY}"``,
``"<password>"``) is not a credential.
"""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from pathlib import Path

from swe_agents.analysis.findings import Finding


@dataclass(frozen=True)
class SecretRule:
    id: str
    name: str
    pattern: re.Pattern[str]
    severity: str


SECRET_RULES = (
    SecretRule(
        "SEC001", "private-key", re.compile(r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----"), "critical"
    ),
    SecretRule("SEC002", "aws-access-key-id", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "high"),
    SecretRule("SEC003", "github-token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "high"),
    SecretRule(
        "SEC004",
        "hardcoded-credential",
        re.compile(
            r"(?i)\b[a-z_]*(?:password|passwd|secret|api_?key|token)[a-z_]*\s*[:=]\s*[\"']"
            r"(?P<value>[^\"'\s]{8,})[\"']"
        ),
        "high",
    ),
)
MAX_FILE_BYTES = 1_000_000
SUGGESTION = "Remove it, rotate it, and read it from the environment or a secret store."
TEST_SUGGESTION = "Test data: make sure it is used by tests only and never by a deployment."
PLACEHOLDER = re.compile(r"^(?:%\(\w+\)[sd]|\{\w*\}|\$\{?\w+\}?|<[^>]+>|\*+|x+|\.{3})$", re.I)
NO_TESTS: frozenset[str] = frozenset()


def _match(rule: SecretRule, line: str) -> re.Match[str] | None:
    match = rule.pattern.search(line)
    if match and "value" in rule.pattern.groupindex and PLACEHOLDER.match(match["value"]):
        return None
    return match


def scan_file(
    root: Path, path: str, lines: AbstractSet[int] | None = None, tests: Container[str] = NO_TESTS
) -> list[Finding]:
    """Secrets in ``path`` (only on ``lines`` when given); ``tests``: which paths are test
    code, where they are reported as info."""
    test = path in tests
    file = root / path
    try:
        if file.stat().st_size > MAX_FILE_BYTES:
            return []
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        if lines is not None and number not in lines:
            continue
        for rule in SECRET_RULES:
            match = _match(rule, line)
            if match:
                findings.append(_finding(rule, path, number, match, test))
                break
    return findings


def _finding(rule: SecretRule, path: str, number: int, match: re.Match[str], test: bool) -> Finding:
    what = rule.name.replace("-", " ")
    return Finding(
        tool="secrets",
        rule=rule.id,
        severity="info" if test else rule.severity,
        message=f"Possible {what} in test code (test data)"
        if test
        else f"Possible {what} committed in source",
        path=path,
        line=number,
        end_line=number,
        column=match.start() + 1,
        end_column=match.end() + 1,
        category="secret",
        cwe=798,
        suggestion=TEST_SUGGESTION if test else SUGGESTION,
        rule_name=rule.name,
    )


def scan_files(
    root: Path,
    paths: list[str],
    lines: Mapping[str, AbstractSet[int]] | None = None,
    tests: Container[str] = NO_TESTS,
) -> list[Finding]:
    result = []
    for path in paths:
        chosen = None if lines is None else lines.get(path, set())
        result.extend(scan_file(root, path, chosen, tests))
    return result
