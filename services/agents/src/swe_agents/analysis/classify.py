"""What a finding means for the ratings (SonarQube's issue types) and whether it is in test
code. The rules, in order (documented in the service README):

* **Test code** is a path matching the agent's ``test_paths`` globs, or by default: a folder
  named ``tests``, ``test``, ``testing``, ``fixtures``, ``testdata``, ``test_data`` or
  ``__tests__``; a file named ``test_*.py``, ``*_test.py``, ``*_tests.py``, ``conftest.py``, or
  ``*.test.*``/``*.spec.*``. Test code is shown apart and never rated.
* **Test noise** (:data:`TEST_NOISE`) is dropped in test code: asserts (bandit B101, ruff
  B011), hard-coded test passwords and temp paths (B105-B108), pseudo-random numbers (B311),
  subprocess without a shell (B404/B603/B607), requests without a timeout against a test
  server (B113), and expressions evaluated for their exception (ruff B018).
* **bug** (reliability): ruff's error families (E9 syntax, F63 comparisons, F7 misplaced
  statements, F82 undefined names, PLE) and the bugbear rules in :data:`RUFF_BUGS`; bandit B113
  (a request without a timeout hangs). A bare ``raise`` outside an except clause (PLE0704)
  inside a function is a code smell, not a bug: it works when the caller handles an exception,
  and ruff cannot see the caller.
* **vulnerability** (security): the bandit rules SonarQube rates as vulnerabilities without
  taint analysis (:data:`BANDIT_VULNERABILITIES`: weak TLS, disabled certificate checks, weak
  ciphers and keys, insecure temp files, XML parsers, unsafe YAML), a weak hash (B303/B324) in a
  password context (:func:`password_context`), and committed key material (SEC001-SEC003).
* **hotspot** (security review, SonarQube's "security-sensitive"): every other bandit finding
  (command execution, eval, SQL building, imports, pickle, debug mode, template escaping, a weak
  hash for an HMAC digest, a cache key or an ETag...), anything bandit is only LOW-confident
  about, and the generic credential pattern (SEC004; SonarQube's S2068 is a hotspot too).
* **code_smell** (maintainability): everything else (lint, complexity, performance, bandit's
  try/except/pass B110/B112).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from swe_agents.analysis.findings import Finding
from swe_agents.analysis.source import SourceFile, Sources

KINDS = ("code_smell", "bug", "vulnerability", "hotspot")

TEST_DIRS = frozenset(
    {"tests", "test", "testing", "fixtures", "testdata", "test_data", "__tests__"}
)
TEST_FILES = ("test_*.py", "*_test.py", "*_tests.py", "conftest.py", "*.test.*", "*.spec.*")

TEST_NOISE = frozenset(
    {
        ("bandit", "B101"),
        ("bandit", "B105"),
        ("bandit", "B106"),
        ("bandit", "B107"),
        ("bandit", "B108"),
        ("bandit", "B113"),
        ("bandit", "B311"),
        ("bandit", "B404"),
        ("bandit", "B603"),
        ("bandit", "B607"),
        ("ruff", "B011"),
        ("ruff", "B018"),
    }
)

RUFF_BUG_PREFIXES = ("E9", "F63", "F7", "F82", "PLE")
RUFF_BUGS = frozenset(
    {
        "B002",  # unary prefix increment
        "B003",  # assignment to os.environ
        "B006",  # mutable default argument
        "B012",  # return/break/continue in finally
        "B015",  # pointless comparison
        "B016",  # raise a literal
        "B020",  # loop variable overrides the iterable
        "B023",  # closure binds a loop variable late
        "B025",  # duplicate except handler
        "B029",  # except () catches nothing
        "B030",  # except with a non-exception class
        "B031",  # reuse of a groupby generator
        "B032",  # possible unintentional type annotation
        "B033",  # duplicate set item
        "B035",  # static key in a dict comprehension
    }
)
# A bare ``raise`` outside an except clause fails only when its function is called outside
# one; inside a function it is the re-raise hook idiom (``socketserver``'s ``handle_error``,
# an app's ``handle_exception``), which ruff cannot tell from the caller-less case.
CALLER_DEPENDENT = frozenset({"PLE0704"})
BANDIT_BUGS = frozenset({"B113"})
BANDIT_SMELLS = frozenset({"B110", "B112"})
# What SonarQube rates as vulnerabilities without taint analysis (weak TLS, disabled certificate
# checks, weak ciphers and keys, insecure temp files, XML parsers, unsafe YAML); the rest of
# bandit (command execution, eval, SQL building, imports, pickle, debug mode, template
# escaping...) is SonarQube's "security-sensitive, review it": a hotspot.
BANDIT_VULNERABILITIES = frozenset(
    {
        "B304",  # weak cipher
        "B305",  # insecure cipher mode
        "B306",  # mktemp
        *(f"B{n}" for n in range(313, 321)),  # XML parsers open to entity attacks
        "B323",  # unverified SSL context
        *(f"B{n}" for n in range(501, 510)),  # TLS, keys, YAML, SSH host keys, SNMP
        "B612",  # logging.config.listen
        "B613",  # bidirectional control characters (trojan source)
    }
)
SECRET_HOTSPOTS = frozenset({"SEC004"})
WEAK_HASH_RULES = frozenset({"B303", "B324"})
_PASSWORD = re.compile(r"(?i)password|passwd|passphrase|credential|(?<![a-z])(?:pwd|pin)(?![a-z])")


@dataclass(frozen=True)
class TestPaths:
    """Which paths are test code: the agent's globs, or the default conventions."""

    patterns: tuple[str, ...] | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TestPaths:
        """The agent's ``test_paths`` globs, or the conventions when it sets none."""
        patterns = config.get("test_paths")
        return cls(tuple(patterns) if patterns is not None else None)

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        if self.patterns is not None:
            return any(fnmatch.fnmatch(path, pattern) for pattern in self.patterns)
        pure = PurePosixPath(path)
        if any(part in TEST_DIRS for part in pure.parts[:-1]):
            return True
        return any(fnmatch.fnmatch(pure.name, pattern) for pattern in TEST_FILES)


def password_context(scope: str, statement: str) -> bool:
    """Whether a weak hash hashes a password: the statement or the function around it names
    one (``hash_password(pw)``, ``md5(password)``, a PIN). An HMAC digest, a cache key or an
    ETag does not."""
    return bool(_PASSWORD.search(scope) or _PASSWORD.search(statement))


def kind_of(finding: Finding, scope: str = "", statement: str = "") -> str:
    if finding.tool == "ruff":
        if finding.rule in CALLER_DEPENDENT and scope:
            return "code_smell"
        bug = finding.rule.startswith(RUFF_BUG_PREFIXES) or finding.rule in RUFF_BUGS
        return "bug" if bug else "code_smell"
    if finding.tool == "bandit":
        return _bandit_kind(finding, scope, statement)
    if finding.tool == "secrets":
        return "hotspot" if finding.rule in SECRET_HOTSPOTS else "vulnerability"
    return "code_smell"


def _bandit_kind(finding: Finding, scope: str, statement: str) -> str:
    if finding.rule in BANDIT_BUGS:
        return "bug"
    if finding.rule in BANDIT_SMELLS:
        return "code_smell"
    if finding.extra.get("confidence") == "low":
        return "hotspot"
    if finding.rule in WEAK_HASH_RULES:
        return "vulnerability" if password_context(scope, statement) else "hotspot"
    return "vulnerability" if finding.rule in BANDIT_VULNERABILITIES else "hotspot"


def is_test_noise(finding: Finding) -> bool:
    return finding.test and (finding.tool, finding.rule) in TEST_NOISE


def classify(findings: list[Finding], tests: TestPaths, sources: Sources) -> list[Finding]:
    """Each finding with its kind and test flag (blocking reads: call from a thread)."""
    result = []
    for finding in findings:
        source = sources[finding.path]
        kind = kind_of(finding, source.scope(finding.line), _code(source, finding))
        result.append(replace(finding, kind=kind, test=finding.path in tests))
    return result


def _code(source: SourceFile, finding: Finding) -> str:
    """The flagged lines as they are (a weak hash's arguments may name the password)."""
    return " ".join(source.lines[finding.line - 1 : max(finding.line, finding.end_line)])
