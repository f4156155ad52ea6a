"""Exports of a run's result: SARIF 2.1.0 (for code scanning), JSON, and Markdown (a PR comment).

SARIF, as GitHub's code scanning reads it (docs.github.com, "SARIF support for code scanning"):

* one run per tool that ran, an empty one when it found nothing (so alerts it raised before
  close), with ``tool.driver.version``/``semanticVersion``, and an ``automationDetails.id`` whose
  category (``swe-agents/<agent>/<kind>/``; kind = analysis, review or patch) keeps an agent's
  analyses and its reviews from replacing each other's alerts;
* rules with short and full descriptions, help as text and Markdown, ``defaultConfiguration``,
  and properties ``tags``, ``precision``, ``problem.severity`` and, on security rules,
  ``security-severity`` -- all from the rule (rules.py), never from one of its results;
* results with ``partialFingerprints.primaryLocationLineHash`` (the only fingerprint GitHub
  uses; ours is formatting-independent, findings.py) beside our own fingerprint, a region with
  columns when the tool gives them, and paths relative to ``%SRCROOT%``, which
  ``versionControlProvenance`` maps to the repository URL, revision and branch analyzed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict
from urllib.parse import quote

from swe_agents.analysis.findings import SEVERITY_RANK
from swe_agents.analysis.rules import TOOL_URIS, RuleInfo

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
PROBLEM_SEVERITY = {
    "critical": "error",
    "high": "error",
    "medium": "warning",
    "low": "recommendation",
    "info": "recommendation",
}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
SECURITY_TOOLS = {"bandit", "secrets"}
FINGERPRINT_KEY = "swePlatformFingerprint/v2"
RUN_KINDS = {"pr_reviewer": "review", "issue_resolver": "patch"}
MAX_RESULTS_PER_RUN = 25_000  # GitHub's limit per run
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")


class ReportedFinding(TypedDict, total=False):
    """A finding as a stored result lists it: a code analysis's ``findings``
    (findings.FindingDict) or a review's ``comments`` (contracts.ReviewComment's JSON, with
    ``new``). A result stored by an older version may lack some of the keys."""

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
    new: bool  # a review's comment: not in the base (baselineState)


# -- SARIF 2.1.0's objects, as far as these exports fill them (property names as the standard
# spells them, hence the functional form where a name is no identifier) -----------------------


class SarifMessage(TypedDict):
    text: str


class SarifMultiformatMessage(TypedDict):
    text: str
    markdown: str


class SarifReportingConfiguration(TypedDict):
    level: str


SarifRuleProperties = TypedDict(
    "SarifRuleProperties",
    {
        "precision": str,
        "problem.severity": str,
        "security-severity": NotRequired[str],  # security rules only
        "tags": list[str],
    },
)


class SarifReportingDescriptor(TypedDict):
    """A rule (``tool.driver.rules[]``)."""

    id: str
    name: str
    shortDescription: SarifMessage
    fullDescription: SarifMessage
    help: SarifMultiformatMessage
    defaultConfiguration: SarifReportingConfiguration
    properties: SarifRuleProperties
    helpUri: NotRequired[str]


class SarifRegion(TypedDict):
    startLine: int
    endLine: int
    startColumn: NotRequired[int]
    endColumn: NotRequired[int]


class SarifArtifactLocation(TypedDict):
    uri: str
    uriBaseId: str


class SarifPhysicalLocation(TypedDict):
    artifactLocation: SarifArtifactLocation
    region: SarifRegion


class SarifLocation(TypedDict):
    physicalLocation: SarifPhysicalLocation


class SarifResultProperties(TypedDict):
    severity: str
    kind: str
    test: bool
    suggestion: NotRequired[str]


class SarifResult(TypedDict):
    ruleId: str
    ruleIndex: int
    level: str
    message: SarifMessage
    locations: list[SarifLocation]
    partialFingerprints: dict[str, str]
    properties: SarifResultProperties
    baselineState: NotRequired[str]  # a review's: new | unchanged


class SarifToolComponent(TypedDict):
    name: str
    rules: list[SarifReportingDescriptor]
    version: NotRequired[str]
    semanticVersion: NotRequired[str]
    informationUri: NotRequired[str]


class SarifTool(TypedDict):
    driver: SarifToolComponent


class SarifRunAutomationDetails(TypedDict):
    id: str


class SarifUriBase(TypedDict):
    """An ``originalUriBaseIds`` entry (an artifactLocation with only its description)."""

    description: SarifMessage


class SarifMappedTo(TypedDict):
    uriBaseId: str


class SarifVersionControlDetails(TypedDict):
    repositoryUri: str
    revisionId: str
    mappedTo: SarifMappedTo
    branch: NotRequired[str]


class SarifRun(TypedDict):
    tool: SarifTool
    automationDetails: SarifRunAutomationDetails
    originalUriBaseIds: dict[str, SarifUriBase]
    columnKind: str
    results: list[SarifResult]
    versionControlProvenance: NotRequired[list[SarifVersionControlDetails]]


SarifLog = TypedDict("SarifLog", {"$schema": str, "version": str, "runs": list[SarifRun]})


class JsonReport(TypedDict):
    run: Mapping[str, Any]  # the run's snapshot (service.run_payload)
    result: Mapping[str, Any]  # its result document as stored


def result_findings(agent_type: str, result: Mapping[str, Any]) -> list[ReportedFinding]:
    if agent_type == "pr_reviewer":
        return list(result.get("comments", []))
    return list(result.get("findings", []))


def run_kind(agent_type: str) -> str:
    return RUN_KINDS.get(agent_type, "analysis")


def _worst(findings: list[ReportedFinding]) -> str:
    severities: list[str] = [f["severity"] for f in findings]
    return max(severities, key=SEVERITY_RANK.__getitem__)


def _fallback_rule(findings: list[ReportedFinding]) -> RuleInfo:
    """A description for a result stored before rules were described (from its findings)."""
    first = findings[0]
    name = first.get("rule_name") or first["rule"]
    text = f"{first['tool']} {first['rule']} ({name})"
    return {
        "name": name,
        "short": text,
        "full": text + ".",
        "help_text": f"See {first.get('help_url') or TOOL_URIS.get(first['tool'], '')}.",
        "help_markdown": f"See [{name}]({first['help_url']})." if first.get("help_url") else text,
        "help_uri": first.get("help_url"),
        "severity": _worst(findings),
        "precision": "medium",
    }


def _rule(
    tool: str, rule_id: str, info: RuleInfo, findings: list[ReportedFinding]
) -> SarifReportingDescriptor:
    severity = info.get("severity") or _worst(findings)
    categories = sorted({f.get("category", "lint") for f in findings})
    tags = [*categories]
    precision = info.get("precision") or "medium"
    properties: SarifRuleProperties
    if tool in SECURITY_TOOLS:
        tags.append("security")
        cwes = sorted({int(number) for f in findings if (number := f.get("cwe"))})
        tags += [f"external/cwe/cwe-{cwe}" for cwe in cwes]
        properties = {
            "precision": precision,
            "problem.severity": PROBLEM_SEVERITY[severity],
            "security-severity": SECURITY_SEVERITY[severity],
            "tags": sorted(set(tags))[:20],
        }
    else:
        properties = {
            "precision": precision,
            "problem.severity": PROBLEM_SEVERITY[severity],
            "tags": sorted(set(tags))[:20],
        }
    rule: SarifReportingDescriptor = {
        "id": rule_id,
        "name": info.get("name") or rule_id,
        "shortDescription": {"text": info.get("short") or rule_id},
        "fullDescription": {"text": info.get("full") or info.get("short") or rule_id},
        "help": {
            "text": info.get("help_text") or info.get("full") or rule_id,
            "markdown": info.get("help_markdown") or info.get("help_text") or rule_id,
        },
        "defaultConfiguration": {"level": LEVELS[severity]},
        "properties": properties,
    }
    help_uri = info.get("help_uri")
    if help_uri:
        rule["helpUri"] = help_uri
    return rule


def _region(finding: ReportedFinding) -> SarifRegion:
    start = max(1, int(finding["line"]))
    end = max(start, int(finding.get("end_line") or start))
    region: SarifRegion = {"startLine": start, "endLine": end}
    column, end_column = finding.get("column"), finding.get("end_column")
    if isinstance(column, int) and column >= 1:
        region["startColumn"] = column
        # An end column before the start on the same line would be a tool's slip: left out.
        if isinstance(end_column, int) and (end > start or end_column > column):
            region["endColumn"] = end_column
    return region


def _result(finding: ReportedFinding, rule_index: int) -> SarifResult:
    fingerprints = {FINGERPRINT_KEY: finding["fingerprint"]}
    fingerprints["primaryLocationLineHash"] = (
        finding.get("line_hash") or f"{finding['fingerprint'][:16]}:1"
    )
    result: SarifResult = {
        "ruleId": finding["rule"],
        "ruleIndex": rule_index,
        "level": LEVELS[finding["severity"]],
        "message": {"text": finding["message"]},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": quote(finding["path"]), "uriBaseId": "%SRCROOT%"},
                    "region": _region(finding),
                }
            }
        ],
        "partialFingerprints": fingerprints,
        "properties": {
            "severity": finding["severity"],
            "kind": finding.get("kind", "code_smell"),
            "test": bool(finding.get("test", False)),
        },
    }
    if "new" in finding:
        result["baselineState"] = "new" if finding["new"] else "unchanged"
    suggestion = finding.get("suggestion")
    if suggestion:
        result["properties"]["suggestion"] = suggestion
    return result


def _driver(
    tool: str, version: str | None, rules: list[SarifReportingDescriptor]
) -> SarifToolComponent:
    driver: SarifToolComponent = {"name": tool, "rules": rules}
    if version:
        driver["version"] = version
        if _SEMVER.match(version):
            driver["semanticVersion"] = version
    if tool in TOOL_URIS:
        driver["informationUri"] = TOOL_URIS[tool]
    return driver


def _provenance(result: Mapping[str, Any]) -> list[SarifVersionControlDetails]:
    revision = result.get("head_sha") or result.get("commit")
    if not revision:
        return []
    details: SarifVersionControlDetails = {
        "repositoryUri": result.get("repository_url") or "file:///",
        "revisionId": revision,
        "mappedTo": {"uriBaseId": "%SRCROOT%"},
    }
    if result.get("branch"):
        details["branch"] = result["branch"]
    return [details]


def _tool_run(
    tool: str,
    findings: list[ReportedFinding],
    result: Mapping[str, Any],
    automation_id: str,
) -> SarifRun:
    findings = sorted(findings, key=lambda f: -SEVERITY_RANK[f["severity"]])[:MAX_RESULTS_PER_RUN]
    by_rule: dict[str, list[ReportedFinding]] = defaultdict(list)
    for finding in findings:
        by_rule[finding["rule"]].append(finding)
    described = result.get("rules") or {}
    rule_ids = sorted(by_rule)
    rules = [
        _rule(tool, r, described.get(f"{tool}:{r}") or _fallback_rule(by_rule[r]), by_rule[r])
        for r in rule_ids
    ]
    index = {r: i for i, r in enumerate(rule_ids)}
    ordered = sorted(findings, key=lambda f: (f["path"], f["line"], f["rule"]))
    run: SarifRun = {
        "tool": {"driver": _driver(tool, (result.get("tools") or {}).get(tool), rules)},
        "automationDetails": {"id": automation_id},
        "originalUriBaseIds": {
            "%SRCROOT%": {"description": {"text": "The root of the repository analyzed."}}
        },
        "columnKind": "unicodeCodePoints",
        "results": [_result(f, index[f["rule"]]) for f in ordered],
    }
    provenance = _provenance(result)
    if provenance:
        run["versionControlProvenance"] = provenance
    return run


def sarif(
    agent_type: str,
    result: Mapping[str, Any],
    *,
    run_id: str | None = None,
    agent_id: str | None = None,
) -> SarifLog:
    """``result``: a run's result document as stored (any version's: what an older one lacks is
    made up from its findings)."""
    by_tool: dict[str, list[ReportedFinding]] = defaultdict(list)
    for finding in result_findings(agent_type, result):
        by_tool[finding["tool"]].append(finding)
    tools = sorted(set(by_tool) | set(result.get("tools") or {})) or ["swe-agents"]
    category = f"swe-agents/{agent_id or agent_type}/{run_kind(agent_type)}/"
    automation_id = category + (run_id or "")
    runs = [_tool_run(tool, by_tool.get(tool, []), result, automation_id) for tool in tools]
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}


def json_report(run: Mapping[str, Any], result: Mapping[str, Any]) -> JsonReport:
    return {"run": run, "result": result}


def markdown(agent_type: str, result: Mapping[str, Any]) -> str:
    if agent_type == "pr_reviewer":
        return _review_markdown(result)
    return _analysis_markdown(result)


def _escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _ratings_line(quality: Mapping[str, Any]) -> str:
    """Version 2's ratings, hotspots and test code in one line ("" for version 1)."""
    ratings = quality.get("ratings")
    if not ratings:
        return ""
    parts = [f"{name} {r.get('rating', '?')}" for name, r in ratings.items()]
    parts.append(f"{quality.get('to_review', {}).get('count', 0)} security hotspots to review")
    parts.append(f"test code: {quality.get('tests', {}).get('findings', 0)} findings, not rated")
    return " · ".join(parts)


def _analysis_markdown(result: Mapping[str, Any]) -> str:
    quality = result.get("quality", {})
    ratings = _ratings_line(quality)
    lines = [
        "## Code analysis",
        "",
        _escape(result.get("summary", "")),
        "",
        f"**Quality:** {quality.get('rating', '?')} ({quality.get('score', '?')}/100, "
        f"formula v{quality.get('formula_version', '?')})",
        *(["", ratings] if ratings else []),
        "",
        "| severity | count |",
        "|---|---|",
    ]
    for severity, count in result.get("findings_by_severity", {}).items():
        lines.append(f"| {severity} | {count} |")
    security = result.get("security", [])
    if security:
        lines += [
            "",
            "### Security",
            "",
            "| file | line | rule | CWE | message |",
            "|---|---|---|---|---|",
        ]
        for f in security:
            cwe = f"CWE-{f['cwe']}" if f.get("cwe") else ""
            lines.append(
                f"| `{_escape(f['path'])}` | {f['line']} | {f['rule']} | {cwe} "
                f"| {_escape(f['message'])} |"
            )
    worst = result.get("worst_functions", [])
    if worst:
        lines += [
            "",
            "### Most complex functions",
            "",
            "| function | file | complexity |",
            "|---|---|---|",
        ]
        for fn in worst:
            lines.append(
                f"| `{_escape(fn['function'])}` | `{_escape(fn['path'])}:{fn['line']}` "
                f"| {fn['complexity']} |"
            )
    return "\n".join(lines) + "\n"


APPROVAL_TEXT = {
    "approve": "Approved",
    "comment": "Commented",
    "request_changes": "Changes requested",
}


def _review_markdown(result: Mapping[str, Any]) -> str:
    lines = [
        f"## Review: {APPROVAL_TEXT.get(result.get('approval', ''), result.get('approval', ''))}",
        "",
        _escape(result.get("summary", "")),
        "",
        f"**Level:** {result.get('level')} · "
        f"**Quality:** {result.get('quality', {}).get('rating', '?')} "
        f"({result.get('quality_score', '?')}/100)",
    ]
    comments = result.get("comments", [])
    if comments:
        lines += ["", "| | file | line | severity | rule | message |", "|---|---|---|---|---|---|"]
        for c in comments:
            marker = "🆕" if c.get("new") else ""
            message = _escape(c["message"]) + (
                f" — _{_escape(c['suggestion'])}_" if c.get("suggestion") else ""
            )
            lines.append(
                f"| {marker} | `{_escape(c['path'])}` | {c['line']} | {c['severity']} "
                f"| {c['rule']} | {message} |"
            )
    deltas = [d for d in result.get("complexity", []) if d.get("delta")]
    if deltas:
        lines += [
            "",
            "### Complexity changes",
            "",
            "| function | before | after |",
            "|---|---|---|",
        ]
        for d in deltas:
            lines.append(
                f"| `{_escape(d['path'])}::{_escape(d['function'])}` "
                f"| {d.get('before') or '—'} | {d['after']} |"
            )
    if result.get("skipped_files"):
        lines += ["", "Skipped: " + ", ".join(f"`{_escape(p)}`" for p in result["skipped_files"])]
    return "\n".join(lines) + "\n"
