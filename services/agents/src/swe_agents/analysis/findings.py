"""One finding model for every tool, with a fingerprint that survives line shifts.

The fingerprint hashes the tool, the rule, the relative path and the *content* of the flagged
line (whitespace-normalised), plus the occurrence index among identical (rule, path, content)
triples. Line numbers are left out on purpose: adding code above a finding must not make it
look new in the next run or on the next commit.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

SEVERITIES = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


@dataclass(frozen=True, slots=True)
class Finding:
    tool: str
    rule: str
    severity: str
    message: str
    path: str
    line: int
    end_line: int
    category: str = "lint"  # lint | security | performance | complexity | secret
    cwe: int | None = None
    suggestion: str | None = None
    rule_name: str | None = None
    help_url: str | None = None
    fingerprint: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]


def severity_at_least(severity: str, minimum: str) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[minimum]


def sort_key(f: Finding) -> tuple[str, int, str, str, str]:
    return (f.path, f.line, f.tool, f.rule, f.message)


def _line_text(root: Path, path: str, line: int, cache: dict[str, list[str]]) -> str:
    if path not in cache:
        try:
            cache[path] = (root / path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            cache[path] = []
    lines = cache[path]
    text = lines[line - 1] if 0 < line <= len(lines) else ""
    return " ".join(text.split())


def fingerprint_all(root: Path, findings: Iterable[Finding]) -> list[Finding]:
    """Sorted findings with fingerprints (blocking file reads: call from a thread)."""
    cache: dict[str, list[str]] = {}
    seen: dict[tuple[str, str, str, str], int] = defaultdict(int)
    result = []
    for finding in sorted(findings, key=sort_key):
        text = _line_text(root, finding.path, finding.line, cache)
        key = (finding.tool, finding.rule, finding.path, text)
        occurrence = seen[key]
        seen[key] += 1
        digest = hashlib.sha256("\x1f".join([*key, str(occurrence)]).encode()).hexdigest()
        result.append(replace(finding, fingerprint=digest[:32]))
    return result
