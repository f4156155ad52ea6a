"""One finding model for every tool, with a fingerprint that survives line shifts and
reformatting.

Fingerprint version 2 hashes the tool, the rule, the relative path, the qualified name of the
scope around the finding and its formatting-independent anchor (:mod:`.source`: the statement
read from the AST, or the function's qualified name for a complexity finding), plus the
occurrence index among identical keys. Line numbers are left out on purpose: adding code above
a finding must not make it look new in the next run or on the next commit, and neither must a
formatter re-wrapping a signature.

Version 1 (the whitespace-normalised physical line instead of scope and anchor) is still
computed, as ``extra["fingerprint_v1"]``, so fingerprints suppressed before version 2 keep
working.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypedDict, cast

from swe_agents.analysis.source import Sources

SEVERITIES = ("info", "low", "medium", "high", "critical")
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}


class FindingDict(TypedDict):
    """A finding as a result document stores it (``Finding.to_dict()``; ``Finding`` says what
    each field means)."""

    tool: str
    rule: str
    severity: str
    message: str
    path: str
    line: int
    end_line: int
    category: str
    cwe: int | None
    suggestion: str | None
    rule_name: str | None
    help_url: str | None
    fingerprint: str
    column: int | None
    end_column: int | None
    kind: str
    test: bool
    line_hash: str
    extra: dict[str, Any]  # what one tool says besides (bandit's confidence, fingerprint_v1...)


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
    # 1-based; ``end_column`` is one past the last character (SARIF's convention). None when
    # the tool does not say.
    column: int | None = None
    end_column: int | None = None
    # SonarQube's issue types: code_smell | bug | vulnerability | hotspot (see classify.py).
    kind: str = "code_smell"
    test: bool = False  # in test code: shown apart, never in the ratings
    # GitHub's primaryLocationLineHash form: hash of the anchor, ":", its occurrence in the file.
    line_hash: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> FindingDict:
        return cast(FindingDict, asdict(self))

    @property
    def rank(self) -> int:
        return SEVERITY_RANK[self.severity]


def severity_at_least(severity: str, minimum: str) -> bool:
    return SEVERITY_RANK[severity] >= SEVERITY_RANK[minimum]


def sort_key(f: Finding) -> tuple[str, int, str, str, str]:
    return (f.path, f.line, f.tool, f.rule, f.message)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def fingerprint_all(
    root: Path, findings: Iterable[Finding], sources: Sources | None = None
) -> list[Finding]:
    """Sorted findings with fingerprints (blocking file reads: call from a thread)."""
    sources = sources or Sources(root)
    seen: dict[tuple[str, ...], int] = defaultdict(int)
    seen_v1: dict[tuple[str, ...], int] = defaultdict(int)
    anchor_lines: dict[tuple[str, str], list[int]] = defaultdict(list)
    result = []
    for finding in sorted(findings, key=sort_key):
        source = sources[finding.path]
        anchor = source.anchor(finding.line, function=finding.category == "complexity")
        key = (finding.tool, finding.rule, finding.path, anchor.scope, anchor.text)
        key_v1 = (finding.tool, finding.rule, finding.path, source.physical(finding.line))
        lines = anchor_lines[(finding.path, anchor.digest)]
        if finding.line not in lines:
            lines.append(finding.line)
        fingerprint = _digest(*key, str(seen[key]))[:32]
        legacy = _digest(*key_v1, str(seen_v1[key_v1]))[:32]
        seen[key] += 1
        seen_v1[key_v1] += 1
        result.append(
            replace(
                finding,
                fingerprint=fingerprint,
                line_hash=f"{anchor.digest[:16]}:{lines.index(finding.line) + 1}",
                extra={**finding.extra, "fingerprint_v1": legacy},
            )
        )
    return result
