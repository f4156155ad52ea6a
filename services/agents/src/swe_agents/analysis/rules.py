"""What each rule is (for SARIF's ``tool.driver.rules`` and a report's readers), and which
version of each tool ran. Built by the worker when a run ends, stored in the result under
``rules`` and ``tools``, so an export never needs the tools.

Per rule: a short and a full description and help (text and Markdown) from the tool's own
documentation (ruff's rule catalogue, bandit's plugin documentation, ours for radon, lizard
and the secret scanner); the rule's severity — fixed per rule for ruff and the secret scanner,
``medium`` for a complexity limit, and for bandit (which rates each call site) the worst the
run saw; and its precision (SARIF's ``very-high``/``high``/``medium``/``low``).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import inspect
import json
import re
import sys
import textwrap
import warnings
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any, TypedDict

from swe_agents.analysis.findings import SEVERITY_RANK, Finding
from swe_agents.analysis.secrets import SECRET_RULES
from swe_agents.analysis.tool_parsers import ruff_severity
from swe_agents.analysis.tools import ToolError, clean_env, python_tool, run_tool

MAX_HELP_CHARS = 4000
CATALOGUE_TIMEOUT = 60.0
TOOL_PACKAGES = {
    "ruff": "ruff",
    "radon": "radon",
    "bandit": "bandit",
    "lizard": "lizard",
    "secrets": "swe-agents",
}
TOOL_URIS = {
    "ruff": "https://docs.astral.sh/ruff/",
    "radon": "https://radon.readthedocs.io/",
    "bandit": "https://bandit.readthedocs.io/",
    "lizard": "https://github.com/terryyin/lizard",
    "secrets": "https://swe-platform.dev/docs/secrets",
}
BANDIT_PRECISION = {"high": "high", "medium": "medium", "low": "low"}
SECRET_PRECISION = {"SEC001": "very-high", "SEC002": "high", "SEC003": "very-high"}
COMPLEXITY_TEXT = (
    "Cyclomatic complexity counts the independent paths through a function (one plus each "
    "branch, loop, boolean operator and exception handler). Past the agent's "
    "complexity_threshold a function is hard to test and to change."
)
COMPLEXITY_HELP = (
    "Split the function: move each branch's work into a well-named helper, replace chains of "
    "conditions with a lookup table or polymorphism, and return early."
)
CREDENTIAL_ADVICE = (
    "A credential in the repository is readable by everyone who can read the repository and "
    "stays in its history. Remove it, rotate it, and read it from the environment or a "
    "secret store. In test code (fixtures, test files) it is reported as info: make sure it "
    "is test data only."
)


class RuleInfo(TypedDict):
    """A rule's description as a result stores it under ``rules`` (read back as
    ``swe_common.events.contracts.RuleDescription`` from a review's result)."""

    name: str
    short: str
    full: str
    help_text: str
    help_markdown: str
    help_uri: str | None
    severity: str
    precision: str


def tool_versions(tools: Iterable[str]) -> dict[str, str]:
    """The installed version of each tool (the worker runs them from its own environment)."""
    versions = {}
    for tool in sorted(set(tools)):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError, KeyError):
            versions[tool] = importlib.metadata.version(TOOL_PACKAGES[tool])
    return versions


async def describe(findings: Iterable[Finding]) -> dict[str, RuleInfo]:
    """``{"tool:rule": description}`` for every rule among ``findings``."""
    grouped: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        grouped.setdefault((finding.tool, finding.rule), []).append(finding)
    ruff = await _ruff_catalogue() if any(t == "ruff" for t, _ in grouped) else {}
    result = {}
    for (tool, rule), found in sorted(grouped.items()):
        result[f"{tool}:{rule}"] = _describe(tool, rule, found, ruff)
    return result


def _describe(
    tool: str, rule: str, found: list[Finding], ruff: dict[str, dict[str, Any]]
) -> RuleInfo:
    first = min(found, key=lambda f: (f.path, f.line))
    name = first.rule_name or rule
    if tool == "ruff":
        return _ruff_rule(rule, name, first.help_url, ruff.get(rule))
    if tool == "bandit":
        return _bandit_rule(rule, name, first.help_url, found)
    if tool == "secrets":
        severity = next((r.severity for r in SECRET_RULES if r.id == rule), "high")
        short = f"Possible {name.replace('-', ' ')} committed in source"
        return _entry(
            name, short, short + ".", CREDENTIAL_ADVICE, severity, SECRET_PRECISION.get(rule)
        )
    short = "Function too complex (cyclomatic complexity over the limit)"
    return _entry(name, short, COMPLEXITY_TEXT, COMPLEXITY_HELP, "medium", "very-high")


def _entry(
    name: str,
    short: str,
    full: str,
    help_text: str,
    severity: str,
    precision: str | None,
    *,
    markdown: str | None = None,
    uri: str | None = None,
) -> RuleInfo:
    return {
        "name": name,
        "short": short,
        "full": full,
        "help_text": help_text[:MAX_HELP_CHARS],
        "help_markdown": (markdown or help_text)[:MAX_HELP_CHARS],
        "help_uri": uri,
        "severity": severity,
        "precision": precision or "medium",
    }


def _ruff_rule(code: str, name: str, uri: str | None, info: dict[str, Any] | None) -> RuleInfo:
    severity = ruff_severity(code)
    precision = "very-high" if code.startswith(("E9", "F82", "F63")) else "high"
    if not info:
        short = f"ruff {code} ({name})"
        return _entry(name, short, short + ".", f"See {uri or TOOL_URIS['ruff']}.", severity, None)
    explanation = str(info.get("explanation") or "")
    what = _section(explanation, "What it does") or str(info.get("summary") or name)
    why = _section(explanation, "Why is this bad?")
    full = " ".join(p for p in (what, why) if p)
    return _entry(
        str(info.get("name") or name),
        _plain(str(info.get("summary") or name)),
        _plain(full),
        _plain(explanation) or full,
        severity,
        precision,
        markdown=explanation or full,
        uri=uri or f"https://docs.astral.sh/ruff/rules/{info.get('name', '')}",
    )


def _section(markdown: str, title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", markdown, re.M | re.S)
    return " ".join(match.group(1).split()) if match else ""


def _plain(text: str) -> str:
    """Markdown to plain text, enough for a plain-text reader: no code fences, backticks or
    heading marks."""
    return re.sub(r"```\w*\n?|`|^#+ ", "", text, flags=re.M).strip()


def _bandit_rule(rule: str, name: str, uri: str | None, found: list[Finding]) -> RuleInfo:
    severity = max((f.severity for f in found), key=SEVERITY_RANK.__getitem__)
    confidence = max(
        (str(f.extra.get("confidence", "")) for f in found),
        key=lambda c: ("low", "medium", "high").index(c) if c in BANDIT_PRECISION else -1,
    )
    title, paragraph = _bandit_doc(rule)
    short = title or f"bandit {rule} ({name})"
    full = paragraph or short
    link = f"\n\nMore: {uri}" if uri else ""
    markdown = f"**{rule}: {short}**\n\n{full}" + (
        f"\n\n[bandit documentation]({uri})" if uri else ""
    )
    return _entry(
        name,
        short,
        full,
        full + link,
        severity,
        BANDIT_PRECISION.get(confidence),
        markdown=markdown,
        uri=uri,
    )


def _bandit_doc(rule: str) -> tuple[str, str]:
    """The title and first paragraph of bandit's documentation of ``rule`` ("" when unknown)."""
    return _bandit_docs().get(rule, ("", ""))


@lru_cache(maxsize=1)
def _bandit_docs() -> dict[str, tuple[str, str]]:
    try:
        with warnings.catch_warnings():  # stevedore's deprecation notices are not ours to show
            warnings.simplefilter("ignore")
            from bandit.core import extension_loader  # heavy: imported only when a run needs it
    except ImportError:
        return {}
    manager = extension_loader.MANAGER
    docs: dict[str, tuple[str, str]] = {}
    for rule, plugin in manager.plugins_by_id.items():
        function = plugin.plugin
        text = function.__doc__ or sys.modules[function.__module__].__doc__ or ""
        docs[rule] = _rst_title_and_paragraph(inspect.cleandoc(text))
    for rule, entry in manager.blacklist_by_id.items():
        docs[rule] = (str(entry.get("name", "")).replace("_", " "), str(entry.get("message", "")))
    return docs


def _rst_title_and_paragraph(text: str) -> tuple[str, str]:
    lines = [line.strip("*").strip() for line in textwrap.dedent(text).splitlines()]
    title_at = next((i for i, line in enumerate(lines) if re.match(r"^B\d{3}: ", line)), None)
    if title_at is None:
        return "", ""
    title = lines[title_at].split(": ", 1)[1]
    paragraph: list[str] = []
    for line in lines[title_at + 1 :]:
        if set(line) <= {"="}:  # the title's underline, or a blank line before the paragraph
            if paragraph:
                break
            continue
        paragraph.append(line)
    text = re.sub(r"``([^`]+)``", r"`\1`", " ".join(paragraph))
    return title, re.sub(r"\\(.)", r"\1", text)  # RST's escapes (``\*``)


# The installed ruff's catalogue, read once per process.
_RUFF_CATALOGUE: dict[str, dict[str, Any]] = {}


async def _ruff_catalogue() -> dict[str, dict[str, Any]]:
    """ruff's own description of every rule (``ruff rule --all``)."""
    if not _RUFF_CATALOGUE:
        argv = python_tool("ruff", "rule", "--all", "--output-format", "json")
        try:
            result = await run_tool(argv, cwd=Path("/"), limit=CATALOGUE_TIMEOUT, env=clean_env())
            rules = json.loads(result.stdout) if result.returncode == 0 else []
        except (ToolError, json.JSONDecodeError):
            return {}  # descriptions fall back to the rule's name; not worth failing a run
        _RUFF_CATALOGUE.update({str(r["code"]): r for r in rules if isinstance(r, dict)})
    return _RUFF_CATALOGUE
