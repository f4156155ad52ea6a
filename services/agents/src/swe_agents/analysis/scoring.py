"""The quality score: a documented, versioned formula returned with its components.

Formula version 1 (modelled on SonarQube's maintainability rating):

* remediation cost per finding by severity: info 0, low 5, medium 10, high 30, critical 60
  minutes (security findings included);
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
from typing import Any

from swe_agents.analysis.findings import SEVERITY_RANK, Finding

FORMULA_VERSION = "1"
REMEDIATION_MINUTES = {"info": 0, "low": 5, "medium": 10, "high": 30, "critical": 60}
MINUTES_PER_LINE = 30
RATING_GRID = (("A", 0.05), ("B", 0.10), ("C", 0.20), ("D", 0.50))
SECURITY_CAP = {"low": ("B", 80), "medium": ("C", 60), "high": ("D", 40), "critical": ("E", 20)}
RATINGS = "ABCDE"


def debt_rating(ratio: float) -> str:
    for rating, limit in RATING_GRID:
        if ratio <= limit:
            return rating
    return "E"


def quality(findings: Iterable[Finding], lines_of_code: int) -> dict[str, Any]:
    findings = list(findings)
    by_severity = Counter(f.severity for f in findings)
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
        "formula_version": FORMULA_VERSION,
        "components": {
            "lines_of_code": lines_of_code,
            "remediation_minutes": remediation,
            "development_minutes": development,
            "debt_ratio": round(ratio, 5),
            "debt_rating": debt_rating(ratio),
            "findings_by_severity": {s: by_severity.get(s, 0) for s in REMEDIATION_MINUTES},
            "remediation_minutes_per_severity": REMEDIATION_MINUTES,
            "worst_security_severity": worst,
            "security_cap": {"rating": cap[0], "score": cap[1]} if cap else None,
        },
    }
