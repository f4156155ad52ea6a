"""Secret detection on source text (pure Python, run in a thread): the quick review level has it
even without bandit. Messages never repeat the secret itself."""

from __future__ import annotations

import re
from collections.abc import Mapping
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
            r"(?i)\b[a-z_]*(?:password|passwd|secret|api_?key|token)[a-z_]*\s*[:=]\s*[\"'][^\"'\s]{8,}[\"']"
        ),
        "high",
    ),
)
MAX_FILE_BYTES = 1_000_000
SUGGESTION = "Remove it, rotate it, and read it from the environment or a secret store."


def scan_file(root: Path, path: str, lines: AbstractSet[int] | None = None) -> list[Finding]:
    """Secrets in ``path`` (only on ``lines`` when given)."""
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
            if rule.pattern.search(line):
                findings.append(
                    Finding(
                        tool="secrets",
                        rule=rule.id,
                        severity=rule.severity,
                        message=f"Possible {rule.name.replace('-', ' ')} committed in source",
                        path=path,
                        line=number,
                        end_line=number,
                        category="secret",
                        cwe=798,
                        suggestion=SUGGESTION,
                        rule_name=rule.name,
                    )
                )
                break
    return findings


def scan_files(
    root: Path, paths: list[str], lines: Mapping[str, AbstractSet[int]] | None = None
) -> list[Finding]:
    result = []
    for path in paths:
        result.extend(scan_file(root, path, None if lines is None else lines.get(path, set())))
    return result
