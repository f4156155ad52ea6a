"""code_analyzer (and custom pipelines): the whole tree of one commit."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from swe_agents.analysis import pipeline, snippets
from swe_agents.analysis.checkout import workspace
from swe_agents.analysis.classify import TestPaths
from swe_agents.analysis.scoring import DEFAULT_FORMULA
from swe_agents.runners.context import RunContext
from swe_common import tracing

ALL_STEPS = ("lint", "secrets", "complexity", "security")


def options_for(config: dict[str, Any], settings_timeout: float) -> pipeline.AnalysisOptions:
    steps = set(config.get("steps") or ALL_STEPS)
    return pipeline.AnalysisOptions(
        lint="lint" in steps,
        secrets="secrets" in steps,
        complexity="complexity" in steps,
        security="security" in steps,
        complexity_threshold=int(config.get("complexity_threshold", 10)),
        tool_timeout=settings_timeout,
        tests=TestPaths.from_config(config),
        quality_formula=str(config.get("quality_formula") or DEFAULT_FORMULA),
    )


def branch_of(ref: str, commit: str) -> str | None:
    """The branch a ref names (None for a commit id)."""
    return None if ref == commit or re.fullmatch(r"[0-9a-f]{7,40}", ref) else ref


async def run(ctx: RunContext) -> pipeline.AnalysisReport:
    repo = await ctx.repository(shallow=True)
    ref = ctx.trigger.get("ref") or ctx.default_branch
    commit = await ctx.resolve(repo, ref)
    await ctx.log(f"analyzing {ref} at {commit[:12]}", {"step": "checkout", "commit": commit})
    options = options_for(ctx.config, ctx.settings.tool_timeout_seconds)
    sandbox = ctx.sandbox()
    async with workspace(ctx.work_root) as work:
        tree = work / "tree"
        await repo.export(commit, tree)
        files = await asyncio.to_thread(pipeline.list_python_files, tree)
        other = await asyncio.to_thread(pipeline.list_other_sources, tree)
        await ctx.log(
            f"{len(files)} Python files and {len(other)} other source files to analyze",
            {"step": "analyze", "files": len(files), "other_files": len(other)},
        )
        analysis = await pipeline.analyze_tree(
            tree, files, options, ctx.log, other, sandbox=sandbox
        )
        with tracing.span("step report"):
            result = pipeline.report(analysis, options, ctx.config.get("min_severity", "info"))
            # The lines around each finding, while the working copy exists (kept with the run).
            ctx.sources = await asyncio.to_thread(snippets.capture, tree, result["findings"])
    result["ref"] = ref
    result["commit"] = commit
    result["steps"] = sorted(ctx.config.get("steps") or ALL_STEPS)
    result["repository_url"] = ctx.repository_web_url
    result["branch"] = branch_of(ref, commit)
    threshold = ctx.config.get("fail_under_score")
    if threshold is not None:
        result["passed"] = result["quality_score"] >= threshold
    await ctx.log(result["summary"], {"step": "report", "score": result["quality_score"]})
    return result
