"""issue_resolver: ask a model for a patch, apply it on a new branch of a private working copy,
analyze the result, report the diff and the findings. The repository's code is never run.

The working copy is made with ``core.symlinks=false``: a link in the repository (or in the
model's patch) is written as a small file holding its target, never as a link out of the copy.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from swe_agents.analysis import pipeline
from swe_agents.analysis.checkout import Repository, parse_changes, validate_ref, workspace
from swe_agents.analysis.classify import TestPaths
from swe_agents.analysis.findings import severity_at_least
from swe_agents.analysis.scoring import DEFAULT_FORMULA
from swe_agents.analysis.tools import clean_env, path_operands, run_tool
from swe_agents.runners.context import RunContext, RunFailure
from swe_agents.runners.llm import Budget, ChatClient

FENCE = re.compile(r"```(?:diff|patch)?\s*\n(.*?)```", re.DOTALL)
MAX_CONTEXT_CHARS = 60_000
SYSTEM_PROMPT = (
    "You are a software engineer fixing an issue in a repository. Answer with one unified diff "
    "(git format, paths prefixed a/ and b/) inside a ```diff fenced block, and nothing else."
)


def extract_patch(reply: str) -> str:
    match = FENCE.search(reply)
    patch = match.group(1) if match else reply
    return patch if patch.endswith("\n") else patch + "\n"


def _context_files(root: Path, files: list[str], issue_text: str, limit: int) -> str:
    """The files the issue names first, then the rest, within a character budget."""
    named = [f for f in files if f in issue_text or Path(f).name in issue_text]
    ordered = named + [f for f in files if f not in named]
    parts, size = [], 0
    for rel in ordered[:limit]:
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
        if size + len(text) > MAX_CONTEXT_CHARS:
            break
        parts.append(f"--- {rel}\n{text}")
        size += len(text)
    return "\n".join(parts)


async def _git(
    wc: Path, *args: str, stdin: bytes | None = None, limit: float = 60
) -> tuple[int, str, str]:
    argv = [
        "git",
        "-c",
        "core.hooksPath=/dev/null",
        "-c",
        "core.symlinks=false",
        "-c",
        "user.name=swe-agent",
        "-c",
        "user.email=agent@swe-platform.invalid",
        *args,
    ]
    env = clean_env(
        home=wc.parent,
        extra={
            "GIT_ALLOW_PROTOCOL": "file",
            "GIT_CONFIG_GLOBAL": "/dev/null",
            "GIT_LITERAL_PATHSPECS": "1",
        },
    )
    result = await run_tool(argv, cwd=wc, limit=limit, env=env, stdin=stdin)
    return result.returncode, result.stdout, result.stderr


async def _working_copy(repo: Repository, work: Path, commit: str, branch: str) -> Path:
    wc = work / "wc"
    code, _, err = await _git(
        work,
        "clone",
        "--quiet",
        "--no-hardlinks",
        "--no-checkout",
        *path_operands([repo.path, wc]),
    )
    if code != 0:
        raise RunFailure("error", f"cannot make a working copy: {err.strip()[:300]}")
    code, _, err = await _git(wc, "checkout", "--quiet", "-b", branch, commit)
    if code != 0:
        raise RunFailure("error", f"cannot create branch {branch}: {err.strip()[:300]}")
    return wc


def _branch_name(config: dict[str, Any], issue: dict[str, Any], run_id: str) -> str:
    """The new branch's name; refused (never passed to git) unless it is a plain ref name."""
    name = f"{config.get('branch_prefix', 'agent/')}issue-{(issue.get('id') or run_id)[:8]}"
    try:
        return validate_ref(name)
    except ValueError as exc:
        raise RunFailure("error", f"branch_prefix gives an invalid branch name: {exc}") from None


def _settings_client(ctx: RunContext) -> ChatClient:
    settings = ctx.settings
    if not settings.llm_base_url:
        raise RunFailure(
            "provider_unavailable", "No model provider is configured (set AGENTS_LLM_BASE_URL)"
        )
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return ChatClient(settings.llm_base_url, settings.llm_model, key, settings.llm_timeout_seconds)


async def _ask_for_patch(
    ctx: RunContext, client: ChatClient, wc: Path, messages: list[dict[str, str]], budget: Budget
) -> str:
    while True:
        budget.check()
        await ctx.log(
            f"asking the model (call {budget.calls + 1} of {budget.max_calls})", {"step": "model"}
        )
        reply = await client.complete(messages, budget)
        patch = extract_patch(reply)
        code, _, err = await _git(
            wc, "apply", "--index", "--whitespace=nowarn", "-", stdin=patch.encode()
        )
        if code == 0:
            await ctx.log("patch applied", {"step": "apply", "tokens": budget.tokens})
            return patch
        await ctx.log(
            "patch did not apply; asking again", {"step": "apply", "error": err.strip()[:200]}
        )
        messages += [
            {"role": "assistant", "content": reply},
            {
                "role": "user",
                "content": f"That patch does not apply: {err.strip()[:500]}. Send a fixed diff.",
            },
        ]


async def run(ctx: RunContext) -> dict[str, Any]:
    client = _settings_client(ctx)
    issue = ctx.trigger.get("issue") or {}
    config = ctx.config
    budget = Budget(int(config.get("max_calls", 3)), int(config.get("max_tokens", 50_000)))
    repo = await ctx.repository()
    ref = ctx.trigger.get("ref") or ctx.default_branch
    base = await ctx.resolve(repo, ref)
    branch = _branch_name(config, issue, ctx.run_id)
    sandbox = ctx.sandbox()
    async with workspace(ctx.work_root) as work:
        wc = await _working_copy(repo, work, base, branch)
        files = await asyncio.to_thread(pipeline.list_python_files, wc)
        issue_text = f"{issue.get('title', '')}\n\n{issue.get('description', '')}"
        context = await asyncio.to_thread(
            _context_files, wc, files, issue_text, int(config.get("max_context_files", 8))
        )
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": f"Issue:\n{issue_text}\n\nRepository files:\n{context}"},
        ]
        patch = await _ask_for_patch(ctx, client, wc, messages, budget)
        code, _, err = await _git(
            wc, "commit", "--quiet", "--no-verify", "-m", f"Resolve: {issue.get('title', '')[:72]}"
        )
        if code != 0:
            raise RunFailure("error", f"the patch changes nothing: {err.strip()[:200]}")
        _, head, _ = await _git(wc, "rev-parse", "HEAD")
        _, status, _ = await _git(wc, "diff", "--name-status", "-z", "-M", base, "HEAD")
        _, unified0, _ = await _git(wc, "diff", "--no-ext-diff", "--unified=0", "-M", base, "HEAD")
        _, diff, _ = await _git(wc, "diff", "--no-ext-diff", "-M", base, "HEAD")
        changes = [c for c in parse_changes(status, unified0) if c.status != "D"]
        py = [c.path for c in changes if c.path.endswith(".py") and pipeline.representable(c.path)]
        options = pipeline.AnalysisOptions(
            tool_timeout=ctx.settings.tool_timeout_seconds,
            tests=TestPaths.from_config(config),
            quality_formula=str(config.get("quality_formula") or DEFAULT_FORMULA),
        )
        analysis = await pipeline.analyze_tree(wc, py, options, ctx.log, sandbox=sandbox)
    added = {c.path: c.added_lines for c in changes}
    on_changed = [
        f for f in pipeline.shown(analysis.findings) if f.line in added.get(f.path, frozenset())
    ]
    q = pipeline.score(analysis, on_changed, options.quality_formula)
    result = {
        "summary": (
            f"patch on branch {branch}: {len(changes)} files changed, "
            f"{len(on_changed)} findings on changed lines"
        ),
        "branch": branch,
        "base_commit": base,
        "commit": head.strip(),
        "head_sha": head.strip(),
        "diff": diff,
        "patch": patch,
        "diff_stats": {
            "files": len(changes),
            "added_lines": sum(len(c.added_lines) for c in changes),
        },
        "findings": [f.to_dict() for f in on_changed],
        "blocking_findings": sum(severity_at_least(f.severity, "high") for f in on_changed),
        "findings_by_severity": pipeline.counts(on_changed)["by_severity"],
        "quality": q,
        "quality_score": q["score"],
        "model": {"name": ctx.settings.llm_model, "calls": budget.calls, "tokens": budget.tokens},
        "repository_url": ctx.repository_web_url,
        "tools": analysis.tools,
        "rules": pipeline.described(analysis, on_changed),
    }
    await ctx.log(result["summary"], {"step": "report"})
    return result
