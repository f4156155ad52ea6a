"""pr_reviewer: analyze only the changed files, comment only on changed lines, and tell new
findings from pre-existing ones by fingerprint against the base.

Approval thresholds (documented, version 1):

* ``request_changes`` when a *new* comment is high or critical, or a *new* security or secret
  comment is medium or worse;
* ``comment`` when any comment remains after the noise controls;
* ``approve`` otherwise.

Levels: ``quick`` = lint + secrets on changed lines; ``standard`` = + complexity and
maintainability deltas; ``thorough`` = + security analysis (bandit).

Test code (classify.TestPaths: the agent's ``test_paths`` or the conventions) has its own,
quieter policy: test-only noise (asserts, test passwords, requests without a timeout...) is never
commented, and a comment in test code needs ``test_min_severity`` (``high`` by default); key
material in test code is test data (the secret scanner reports it as info).

Complexity deltas match a function by its qualified name and, when a file defines the same name
more than once (``@overload`` stubs, redefinitions), by its position counted from the last one
(the implementation follows its stubs).
"""

from __future__ import annotations

import asyncio
import fnmatch
import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

from swe_agents.analysis import diffs, pipeline, rules
from swe_agents.analysis.checkout import FileChange, Repository, workspace
from swe_agents.analysis.classify import TestPaths, is_test_noise
from swe_agents.analysis.findings import Finding, severity_at_least
from swe_agents.analysis.scoring import DEFAULT_FORMULA
from swe_agents.analysis.secrets import scan_files
from swe_agents.analysis.tool_parsers import FunctionComplexity
from swe_agents.analysis.tools import ToolError
from swe_agents.runners.context import RunContext
from swe_common.events.contracts import (
    ComplexityDelta,
    MaintainabilityDelta,
    ReviewComment,
    ReviewedRange,
    ReviewResult,
)

APPROVAL_VERSION = "1"
MAX_SECRET_SCAN_FILES = 2000


def level_options(level: str, config: dict[str, Any], timeout: float) -> pipeline.AnalysisOptions:
    return pipeline.AnalysisOptions(
        lint=True,
        secrets=False,  # secrets run on changed lines of every file, not only Python ones
        complexity=level in ("standard", "thorough"),
        security=level == "thorough",
        complexity_threshold=int(config.get("complexity_threshold", 10)),
        tool_timeout=timeout,
        tests=TestPaths.from_config(config),
        quality_formula=str(config.get("quality_formula") or DEFAULT_FORMULA),
    )


def path_selected(path: str, include: list[str], exclude: list[str]) -> bool:
    if not pipeline.representable(path):
        return False
    if include and not any(fnmatch.fnmatch(path, pattern) for pattern in include):
        return False
    return not any(fnmatch.fnmatch(path, pattern) for pattern in exclude)


def comment_line(finding: Finding, added: frozenset[int]) -> int | None:
    """The changed line a finding is reported on, or None when it touches no changed line."""
    if finding.line in added:
        return finding.line
    touched = [n for n in added if finding.line <= n <= finding.end_line]
    return min(touched) if touched else None


def approval(comments: list[ReviewComment]) -> str:
    for c in comments:
        if not c.new:
            continue
        if severity_at_least(c.severity, "high"):
            return "request_changes"
        if c.category in ("security", "secret") and severity_at_least(c.severity, "medium"):
            return "request_changes"
    return "comment" if comments else "approve"


async def _export_base(
    repo: Repository, commit: str, changes: list[FileChange], dest: Path
) -> None:
    """The base versions of changed files, stored under their *new* names (renames compare)."""
    listed = await repo.git("ls-tree", "-r", "-z", "--name-only", commit)
    existing = set(listed.split("\0"))
    pairs = [(c.old_path, c.path) for c in changes if c.old_path and c.old_path in existing]
    staging = dest.parent / (dest.name + "-staging")
    await repo.export(commit, staging, [old for old, _ in pairs])

    def move() -> None:
        for old, new in pairs:
            source, target = staging / old, dest / new
            if source.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(source), str(target))

    await asyncio.to_thread(move)


def _by_name(
    functions: list[FunctionComplexity],
) -> dict[tuple[str, str], list[FunctionComplexity]]:
    groups: dict[tuple[str, str], list[FunctionComplexity]] = defaultdict(list)
    for f in sorted(functions, key=lambda f: (f["path"], f["line"])):
        groups[(f["path"], f["function"])].append(f)
    return groups


def _complexity_deltas(
    before: list[FunctionComplexity], after: list[FunctionComplexity]
) -> list[ComplexityDelta]:
    old = _by_name(before)
    deltas = []
    for key, functions in _by_name(after).items():
        previous = old.get(key, [])
        offset = len(previous) - len(functions)  # positions counted from the last definition
        for index, f in enumerate(functions):
            match = index + offset
            was = previous[match]["complexity"] if 0 <= match < len(previous) else None
            if was != f["complexity"]:
                deltas.append(
                    ComplexityDelta(
                        path=f["path"],
                        function=f["function"],
                        line=f["line"],
                        before=was,
                        after=f["complexity"],
                        delta=f["complexity"] - (was or 0),
                    )
                )
    return sorted(deltas, key=lambda d: (-abs(d.delta), d.path, d.line))


def _mi_deltas(before: dict[str, float], after: dict[str, float]) -> list[MaintainabilityDelta]:
    return [
        MaintainabilityDelta(
            path=path,
            before=before.get(path),
            after=value,
            delta=round(value - before[path], 2) if path in before else None,
        )
        for path, value in sorted(after.items())
    ]


async def run(ctx: RunContext) -> dict[str, Any]:
    """The result document of a review (the runners' common shape: JSON, stored with the run
    and carried by ``agents.run.completed``): the JSON of ``ReviewResult``, the contract
    that types it (``review`` returns the model)."""
    return (await review(ctx)).wire()


async def review(ctx: RunContext) -> ReviewResult:
    pr = ctx.trigger["pull_request"]
    level = ctx.trigger.get("level") or ctx.config.get("level", "standard")
    repo = await ctx.repository()
    head = await ctx.resolve(repo, pr.get("head_sha") or pr["head_ref"])
    base = await ctx.resolve(repo, pr.get("base_sha") or pr["base_ref"])
    merge_base = await repo.merge_base(base, head)
    since, incremental, reason = merge_base, False, "first_review"
    previous = ctx.previous_review_head
    if previous and previous != head:
        if await repo.is_ancestor(previous, head):
            since, incremental, reason = previous, True, "new_commits"
        else:
            reason = "force_push"
    elif previous == head:
        reason = "same_head"
    reviewed = ReviewedRange(incremental=incremental, reason=reason, from_=since, to=head)
    await ctx.log(
        f"reviewing {since[:12]}..{head[:12]} at level {level}",
        {"step": "diff", "from": since, "to": head, "incremental": incremental},
    )
    changes = [c for c in await repo.changes(since, head) if c.status != "D"]
    include, exclude = ctx.config.get("include", []), ctx.config.get("exclude", [])
    selected = [c for c in changes if path_selected(c.path, include, exclude)]
    skipped = sorted(c.path for c in changes if c not in selected)
    ctx.diff = await _keep_diff(ctx, repo, since, head, selected)
    python = [c for c in selected if c.path.endswith(".py")]
    others = [c for c in selected if Path(c.path).suffix in pipeline.LIZARD_SUFFIXES]
    options = level_options(level, ctx.config, ctx.settings.tool_timeout_seconds)
    async with workspace(ctx.work_root) as work:
        head_dir, base_dir = work / "head", work / "base"
        await repo.export(head, head_dir, [c.path for c in selected][:MAX_SECRET_SCAN_FILES])
        await _export_base(repo, since, python + others, base_dir)
        py_paths = await asyncio.to_thread(
            pipeline.regular_files, head_dir, [c.path for c in python]
        )
        other_paths = await asyncio.to_thread(
            pipeline.regular_files, head_dir, [c.path for c in others]
        )
        base_py = [p for p in py_paths if (base_dir / p).exists()]
        base_other = [p for p in other_paths if (base_dir / p).exists()]
        sandbox = ctx.sandbox()
        after = await pipeline.analyze_tree(
            head_dir, py_paths, options, ctx.log, other_paths, sandbox=sandbox
        )
        before = await pipeline.analyze_tree(
            base_dir, base_py, options, _quiet, base_other, sandbox=sandbox
        )
        added = {c.path: c.added_lines for c in selected}
        secret_findings = await asyncio.to_thread(
            lambda: pipeline.annotate(
                head_dir,
                scan_files(head_dir, [c.path for c in selected], dict(added), options.tests),
                [],
                options.tests,
            )[0]
        )
    base_prints = {f.fingerprint for f in before.findings}
    findings = after.findings + secret_findings
    comments, dropped = _comments(findings, added, base_prints, ctx.config)
    q = pipeline.score(after, findings, options.quality_formula)
    outcome = approval(comments)
    commented = {c.fingerprint for c in comments}
    summary = (
        f"{len(selected)} changed files reviewed ({len(python)} Python), "
        f"{len(comments)} comments "
        f"({sum(c.new for c in comments)} new); {outcome.replace('_', ' ')}"
    )
    result = ReviewResult(
        summary=summary,
        approval=outcome,
        approval_rules_version=APPROVAL_VERSION,
        level=level,
        base_sha=base,
        head_sha=head,
        merge_base=merge_base,
        reviewed_range=reviewed,
        files_reviewed=[c.path for c in selected],
        skipped_files=skipped,
        comments=comments,
        comment_count=len(comments),
        suppressed=dropped,
        security=[c for c in comments if c.category in ("security", "secret")],
        performance=[c for c in comments if c.category == "performance"],
        complexity=_complexity_deltas(before.functions, after.functions)
        if options.complexity
        else [],
        maintainability=_mi_deltas(before.maintainability, after.maintainability)
        if options.complexity
        else [],
        quality=q,
        quality_score=q["score"],
        findings_by_severity=pipeline.counts(pipeline.shown(findings))["by_severity"],
        repository_url=ctx.repository_web_url,
        branch=pr["head_ref"],
        tools={**after.tools, **rules.tool_versions(["secrets"])},
        rules=await rules.describe(f for f in findings if f.fingerprint in commented),
    )
    await ctx.log(summary, {"step": "report", "approval": outcome})
    return result


async def _keep_diff(
    ctx: RunContext, repo: Repository, since: str, head: str, selected: list[FileChange]
) -> diffs.DiffDocument | None:
    """The reviewed diff, for people reading the comments; a review goes on without it."""
    try:
        diff = await diffs.capture(repo, since, head, selected)
    except (ToolError, ValueError) as exc:  # git failed, or said something unreadable
        await ctx.log(f"the diff was not kept: {exc}", {"step": "diff", "kept": False})
        return None
    return diff.to_dict()


async def _quiet(_message: str, _fields: dict[str, Any]) -> None:
    return None


def _comments(
    findings: list[Finding],
    added: dict[str, frozenset[int]],
    base_prints: set[str],
    config: dict[str, Any],
) -> tuple[list[ReviewComment], dict[str, int]]:
    suppressed = set(config.get("suppressed_fingerprints", []))
    dropped = {
        "below_min_severity": 0,
        "suppressed": 0,
        "over_cap": 0,
        "test_noise": 0,
        "test_below_min_severity": 0,
    }
    comments: list[ReviewComment] = []
    for finding in findings:
        line = comment_line(finding, added.get(finding.path, frozenset()))
        if line is None:
            continue
        reason = _dropped_because(finding, config, suppressed)
        if reason:
            dropped[reason] += 1
            continue
        comment = {k: v for k, v in finding.to_dict().items() if k != "extra"}
        comment.update({"line": line, "new": finding.fingerprint not in base_prints})
        comments.append(ReviewComment.model_validate(comment))
    comments.sort(key=lambda c: (not c.new, -_rank(c.severity), c.path, c.line, c.rule))
    cap = int(config.get("max_comments", 50))
    dropped["over_cap"] = max(0, len(comments) - cap)
    kept = sorted(comments[:cap], key=lambda c: (c.path, c.line, c.tool, c.rule))
    return kept, dropped


def _dropped_because(finding: Finding, config: dict[str, Any], suppressed: set[str]) -> str | None:
    """Why a finding on a changed line gets no comment, or None when it gets one."""
    if is_test_noise(finding):
        return "test_noise"
    if finding.test and not severity_at_least(
        finding.severity, config.get("test_min_severity", "high")
    ):
        return "test_below_min_severity"
    if not severity_at_least(finding.severity, config.get("min_severity", "low")):
        return "below_min_severity"
    # Fingerprints suppressed before version 2 still match, by their version 1 form.
    if suppressed & {finding.fingerprint, finding.extra.get("fingerprint_v1")}:
        return "suppressed"
    return None


def _rank(severity: str) -> int:
    return ("info", "low", "medium", "high", "critical").index(severity)
