"""The quality score: documented, versioned formulas returned with their components.

Formula version 2 (the default; SonarQube's model: three ratings, each with its own rule, on
code that is not test code; see classify.py for what each finding is):

* **maintainability** from code smells only: remediation minutes by severity (info 0, low 5,
  medium 10, high 30, critical 60) over development cost (non-blank lines of non-test code x 30
  minutes) = debt ratio; A <= 5 %, B <= 10 %, C <= 20 %, D <= 50 %, else E;
* **reliability** from bugs: A with none, else by the worst one: low -> B, medium -> C,
  high -> D, critical -> E (info never counts);
* **security** from vulnerabilities, the same grid; security hotspots are listed "to review"
  and never change a rating;
* **rating** = the worst of the three; **score** = 100 - 200 x debt ratio clamped to 0..100,
  then capped by the rating when it is worse than A: B -> 80, C -> 60, D -> 40, E -> 20;
* test code's findings are counted apart (``tests``) and test-only noise is not counted at all.

Formula version 1 (kept as it was, selectable with the agent's ``quality_formula: "1"``):

* remediation cost per finding by severity: info 0, low 5, medium 10, high 30, critical 60
  minutes (security findings and test code included);
* development cost = non-blank lines of code x 30 minutes;
* debt ratio = remediation / development cost; rating A <= 5 %, B <= 10 %, C <= 20 %,
  D <= 50 %, E above;
* score = 100 - 200 x debt ratio, clamped to 0..100 (so A = 90..100, B = 80..90, C = 60..80,
  D = 0..60);
* capped by the worst security finding: low -> at most B / 80, medium -> C / 60,
  high -> D / 40, critical -> E / 20.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import NotRequired, TypedDict

from swe_agents.analysis.classify import KINDS, is_test_noise
from swe_agents.analysis.findings import SEVERITY_RANK, Finding

FORMULA_VERSIONS = ("1", "2")
DEFAULT_FORMULA = "2"
REMEDIATION_MINUTES = {"info": 0, "low": 5, "medium": 10, "high": 30, "critical": 60}
MINUTES_PER_LINE = 30
RATING_GRID = (("A", 0.05), ("B", 0.10), ("C", 0.20), ("D", 0.50))
SECURITY_CAP = {"low": ("B", 80), "medium": ("C", 60), "high": ("D", 40), "critical": ("E", 20)}
# Version 2: the rating a bug or vulnerability of each severity gives, and each rating's cap.
WORST_FINDING_RATING = {"info": "A", "low": "B", "medium": "C", "high": "D", "critical": "E"}
RATING_CAP = {"A": 100, "B": 80, "C": 60, "D": 40, "E": 20}
RATINGS = "ABCDE"


class SecurityCap(TypedDict):
    rating: str
    score: int


class QualityComponents(TypedDict, total=False):
    """What a score was computed from; version 1 gives its debt and security cap, version 2
    the counts behind its maintainability rating (``minutes_per_line``, ``test_noise_dropped``).
    """

    lines_of_code: int
    remediation_minutes: int
    development_minutes: int
    debt_ratio: float
    debt_rating: str
    findings_by_severity: dict[str, int]
    remediation_minutes_per_severity: dict[str, int]
    worst_security_severity: str | None
    security_cap: SecurityCap | None
    minutes_per_line: int
    test_noise_dropped: int


class MaintainabilityRating(TypedDict):
    rating: str
    count: int
    remediation_minutes: int
    development_minutes: int
    debt_ratio: float
    by_severity: dict[str, int]


class IssueRating(TypedDict):
    """Reliability (bugs) or security (vulnerabilities): rated by the worst one."""

    rating: str
    count: int
    worst_severity: str | None
    by_severity: dict[str, int]


class Ratings(TypedDict):
    maintainability: MaintainabilityRating
    reliability: IssueRating
    security: IssueRating


class ToReview(TypedDict):
    count: int
    by_rule: dict[str, int]


class CountsInTests(TypedDict):
    lines_of_code: int
    findings: int
    by_kind: dict[str, int]
    by_severity: dict[str, int]


class ScoreAndRating(TypedDict):
    score: float
    rating: str


class Quality(TypedDict):
    """A quality score with its breakdown (a result's ``quality``): version 2 adds its three
    ratings, the hotspots to review, test code's counts and what version 1 says (``v1``)."""

    score: float
    rating: str
    formula_version: str
    ratings: NotRequired[Ratings]
    to_review: NotRequired[ToReview]
    tests: NotRequired[CountsInTests]
    components: QualityComponents
    v1: NotRequired[ScoreAndRating]


def debt_rating(ratio: float) -> str:
    for rating, limit in RATING_GRID:
        if ratio <= limit:
            return rating
    return "E"


def by_severity(findings: Iterable[Finding]) -> dict[str, int]:
    counted = Counter(f.severity for f in findings)
    return {s: counted.get(s, 0) for s in REMEDIATION_MINUTES}


def quality(
    findings: Iterable[Finding],
    lines_of_code: int,
    version: str = DEFAULT_FORMULA,
    test_lines_of_code: int = 0,
) -> Quality:
    """The score of ``findings`` by formula ``version``; ``lines_of_code`` counts every line
    analyzed (test code included; version 2 takes ``test_lines_of_code`` off)."""
    findings = list(findings)
    v1 = quality_v1(findings, lines_of_code)
    if version == "1":
        return v1
    result = quality_v2(findings, lines_of_code - test_lines_of_code, test_lines_of_code)
    # What version 1 says of the same findings, so a trend across the switch can be read.
    result["v1"] = {"score": v1["score"], "rating": v1["rating"]}
    return result


def quality_v1(findings: Iterable[Finding], lines_of_code: int) -> Quality:
    findings = list(findings)
    remediation = sum(REMEDIATION_MINUTES[f.severity] for f in findings)
    development = max(lines_of_code, 1) * MINUTES_PER_LINE
    ratio = remediation / development
    rating = debt_rating(ratio)
    score = max(0.0, min(100.0, 100.0 - 200.0 * ratio))
    security = [f for f in findings if f.category in ("security", "secret")]
    worst = max((f.severity for f in security), key=SEVERITY_RANK.__getitem__, default=None)
    cap = SECURITY_CAP.get(worst) if worst else None
    if cap is not None:
        rating = max(rating, cap[0], key=RATINGS.index)
        score = min(score, cap[1])
    return {
        "score": round(score, 1),
        "rating": rating,
        "formula_version": "1",
        "components": {
            "lines_of_code": lines_of_code,
            "remediation_minutes": remediation,
            "development_minutes": development,
            "debt_ratio": round(ratio, 5),
            "debt_rating": debt_rating(ratio),
            "findings_by_severity": by_severity(findings),
            "remediation_minutes_per_severity": REMEDIATION_MINUTES,
            "worst_security_severity": worst,
            "security_cap": {"rating": cap[0], "score": cap[1]} if cap else None,
        },
    }


def _worst(findings: list[Finding]) -> str | None:
    counted = [f.severity for f in findings if f.severity != "info"]
    return max(counted, key=SEVERITY_RANK.__getitem__, default=None)


def _issue_rating(findings: list[Finding]) -> IssueRating:
    worst = _worst(findings)
    return {
        "rating": WORST_FINDING_RATING[worst] if worst else "A",
        "count": len(findings),
        "worst_severity": worst,
        "by_severity": by_severity(findings),
    }


def quality_v2(
    findings: Iterable[Finding], lines_of_code: int, test_lines_of_code: int = 0
) -> Quality:
    """``lines_of_code``: non-test lines only."""
    findings = list(findings)
    counted = [f for f in findings if not is_test_noise(f)]
    source = [f for f in counted if not f.test]
    tests = [f for f in counted if f.test]
    smells = [f for f in source if f.kind == "code_smell"]
    remediation = sum(REMEDIATION_MINUTES[f.severity] for f in smells)
    development = max(lines_of_code, 1) * MINUTES_PER_LINE
    ratio = remediation / development
    maintainability: MaintainabilityRating = {
        "rating": debt_rating(ratio),
        "count": len(smells),
        "remediation_minutes": remediation,
        "development_minutes": development,
        "debt_ratio": round(ratio, 5),
        "by_severity": by_severity(smells),
    }
    reliability = _issue_rating([f for f in source if f.kind == "bug"])
    security = _issue_rating([f for f in source if f.kind == "vulnerability"])
    hotspots = [f for f in source if f.kind == "hotspot"]
    rating = max(
        (maintainability["rating"], reliability["rating"], security["rating"]), key=RATINGS.index
    )
    score = min(max(0.0, min(100.0, 100.0 - 200.0 * ratio)), RATING_CAP[rating])
    return {
        "score": round(score, 1),
        "rating": rating,
        "formula_version": "2",
        "ratings": {
            "maintainability": maintainability,
            "reliability": reliability,
            "security": security,
        },
        "to_review": {
            "count": len(hotspots),
            "by_rule": dict(sorted(Counter(f"{f.tool}:{f.rule}" for f in hotspots).items())),
        },
        "tests": {
            "lines_of_code": test_lines_of_code,
            "findings": len(tests),
            "by_kind": {k: sum(f.kind == k for f in tests) for k in KINDS},
            "by_severity": by_severity(tests),
        },
        "components": {
            "lines_of_code": lines_of_code,
            "findings_by_severity": by_severity(source),
            "remediation_minutes_per_severity": REMEDIATION_MINUTES,
            "minutes_per_line": MINUTES_PER_LINE,
            "test_noise_dropped": len(findings) - len(counted),
        },
    }
