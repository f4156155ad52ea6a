"""Exports of a run's result: SARIF 2.1.0 (for code scanning), JSON, and Markdown (a PR comment).

SARIF notes (what GitHub code scanning needs): paths relative to the repository root with
``uriBaseId`` ``%SRCROOT%``, ``partialFingerprints`` per result, and a ``security-severity``
property on security rules (with ``security`` and CWE tags).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "1.0"}
TOOL_URIS = {
    "ruff": "https://docs.astral.sh/ruff/",
    "radon": "https://radon.readthedocs.io/",
    "bandit": "https://bandit.readthedocs.io/",
    "secrets": "https://swe-platform.dev/docs/secrets",
}
FINGERPRINT_KEY = "swePlatformFingerprint/v1"


def result_findings(agent_type: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    if agent_type == "pr_reviewer":
        return list(result.get("comments", []))
    if agent_type == "issue_resolver":
        return list(result.get("findings", []))
    return list(result.get("findings", []))


def _rule(finding: dict[str, Any]) -> dict[str, Any]:
    security = finding.get("category") in ("security", "secret")
    tags = [finding.get("category", "lint")]
    properties: dict[str, Any] = {"tags": tags}
    if security and "security" not in tags:
        tags.append("security")
    if security:
        if finding.get("cwe"):
            tags.append(f"external/cwe/cwe-{finding['cwe']}")
        properties["security-severity"] = SECURITY_SEVERITY[finding["severity"]]
    rule: dict[str, Any] = {
        "id": finding["rule"],
        "name": finding.get("rule_name") or finding["rule"],
        "shortDescription": {"text": finding.get("rule_name") or finding["rule"]},
        "defaultConfiguration": {"level": LEVELS[finding["severity"]]},
        "properties": properties,
    }
    if finding.get("help_url"):
        rule["helpUri"] = finding["help_url"]
    return rule


def _result(finding: dict[str, Any], rule_index: int) -> dict[str, Any]:
    region = {"startLine": max(1, int(finding["line"]))}
    end_line = int(finding.get("end_line") or finding["line"])
    if end_line >= region["startLine"]:
        region["endLine"] = end_line
    result: dict[str, Any] = {
        "ruleId": finding["rule"],
        "ruleIndex": rule_index,
        "level": LEVELS[finding["severity"]],
        "message": {"text": finding["message"]},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding["path"], "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding["fingerprint"]},
        "properties": {"severity": finding["severity"]},
    }
    if "new" in finding:
        result["baselineState"] = "new" if finding["new"] else "unchanged"
    if finding.get("suggestion"):
        result["properties"]["suggestion"] = finding["suggestion"]
    return result


def sarif(agent_type: str, result: dict[str, Any]) -> dict[str, Any]:
    by_tool: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for finding in result_findings(agent_type, result):
        by_tool[finding["tool"]].append(finding)
    runs = []
    for tool in sorted(by_tool) or ["swe-agents"]:
        rules: dict[str, dict[str, Any]] = {}
        results = []
        for finding in by_tool.get(tool, []):
            if finding["rule"] not in rules:
                rules[finding["rule"]] = _rule(finding)
            results.append(_result(finding, list(rules).index(finding["rule"])))
        driver: dict[str, Any] = {"name": tool, "rules": list(rules.values())}
        if tool in TOOL_URIS:
            driver["informationUri"] = TOOL_URIS[tool]
        run: dict[str, Any] = {
            "tool": {"driver": driver},
            "results": results,
            "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///"}},
        }
        if result.get("head_sha") or result.get("commit"):
            run["versionControlProvenance"] = [
                {
                    "repositoryUri": result.get("repository_url") or "file:///",
                    "revisionId": result.get("head_sha") or result["commit"],
                }
            ]
        runs.append(run)
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": runs}


def json_report(run: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    return {"run": run, "result": result}


def markdown(agent_type: str, result: dict[str, Any]) -> str:
    if agent_type == "pr_reviewer":
        return _review_markdown(result)
    return _analysis_markdown(result)


def _escape(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _analysis_markdown(result: dict[str, Any]) -> str:
    quality = result.get("quality", {})
    lines = [
        "## Code analysis",
        "",
        _escape(result.get("summary", "")),
        "",
        f"**Quality:** {quality.get('rating', '?')} ({quality.get('score', '?')}/100, "
        f"formula v{quality.get('formula_version', '?')})",
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


def _review_markdown(result: dict[str, Any]) -> str:
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
