"""issue_resolver: an Agentless-style pipeline — deterministic scaffolding, the model only
where it is needed — whose patch is proved by running the repository's tests in the sandbox.

1. Localize: from a skeleton of the repository the model names files, then elements (classes,
   functions), then the lines to edit.
2. Repair: ``samples`` candidate patches (default 4) in the strict search/replace format,
   applied exactly (a candidate that does not apply is discarded), normalised, de-duplicated.
3. Validate: the existing tests that touch the edited code run before and after each candidate
   (pass -> pass must hold), and a reproduction test the model writes from the issue must fail
   before and pass after; candidates are ranked by that evidence, ties broken by how many
   samples agreed; the best is submitted, or the run says that none passed.
4. Deliver: the patch on a new branch of a private working copy, the evidence, the change of
   the quality score; with ``open_pull_request`` on, a request for a draft pull request
   (``result.pull_request``, the shared ``PullRequestRequest`` contract): the issues service,
   which holds the project's GitHub token, pushes the branch and opens the draft pull request
   from the ``agents.run.completed`` event and answers with ``issues.resolution.delivered`` or
   ``issues.resolution.delivery_failed``, which the agents service records in the run's result.

The working copy is made with ``core.symlinks=false``: a link in the repository is written as a
small file holding its target, never as a link out of the copy.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from swe_agents.analysis import pipeline
from swe_agents.analysis.checkout import Repository, parse_changes, validate_ref, workspace
from swe_agents.analysis.classify import TestPaths
from swe_agents.analysis.findings import FindingDict, severity_at_least
from swe_agents.analysis.rules import RuleInfo
from swe_agents.analysis.scoring import DEFAULT_FORMULA, Quality
from swe_agents.analysis.tools import clean_env, path_operands, run_tool
from swe_agents.resolver import edits, install, skeleton
from swe_agents.resolver.testrun import (
    REPRO_FILE,
    TestRun,
    TestRunDict,
    copy_tree,
    related_tests,
    run_tests,
)
from swe_agents.runners.context import RunContext, RunFailure
from swe_agents.runners.llm import Budget, Call, CallRecord, ChatClient, OnCall, Pricing
from swe_agents.sandbox import CodeSandbox
from swe_common.events.contracts import PullRequestRequest

_SHA = re.compile(r"^[0-9a-f]{40}$")
FENCE = re.compile(r"```[\w+-]*\n(.*?)```", re.DOTALL)
MAX_CODE_CHARS = 40_000
SYSTEM = (
    "You are a careful software engineer resolving an issue in a Python repository. "
    "Answer exactly in the format asked for."
)


def _fenced(answer: str) -> str:
    match = FENCE.search(answer)
    return match.group(1) if match else answer


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
    """The new branch's name, one per run (a second run on the same issue never collides with
    the first one's branch on GitHub); refused (never passed to git) unless it is a plain ref
    name."""
    issue_part = (issue.get("id") or run_id).replace("-", "")[:8]
    run_part = run_id.replace("-", "")[:8]
    name = f"{config.get('branch_prefix', 'agent/')}issue-{issue_part}-{run_part}"
    try:
        return validate_ref(name)
    except ValueError as exc:
        raise RunFailure("error", f"branch_prefix gives an invalid branch name: {exc}") from None


def make_client(ctx: RunContext) -> ChatClient:
    """The model client from the worker's provider settings and the agent's config (model,
    streaming, tool calling, prices)."""
    settings, config = ctx.settings, ctx.config
    base_url = config.get("base_url") or settings.llm_base_url
    if not base_url:
        raise RunFailure(
            "provider_unavailable", "No model provider is configured (set AGENTS_LLM_BASE_URL)"
        )
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return ChatClient(
        base_url,
        str(config.get("model") or settings.llm_model),
        key,
        settings.llm_timeout_seconds,
        stream=bool(config.get("stream", False)),
        tools=bool(config.get("tool_calling", False)),
        pricing=Pricing(
            float(config.get("price_input_per_mtok", 0)),
            float(config.get("price_output_per_mtok", 0)),
        ),
    )


def make_budget(config: dict[str, Any]) -> Budget:
    wall = config.get("max_wall_seconds")
    cost = config.get("max_cost")
    return Budget(
        int(config.get("max_calls", 12)),
        int(config.get("max_tokens", 200_000)),
        float(cost) if cost is not None else None,
        time.monotonic() + float(wall) if wall else None,
    )


class CandidateEvidence(TypedDict):
    """What the tests said of one candidate, as the result lists it (``Evidence.to_dict()``)."""

    candidate: int
    samples: list[int]
    agreement: int
    files: list[str]
    passed: bool
    regressions: list[str]
    regression_tests: TestRunDict
    reproduction: TestRunDict


class ModelUsage(TypedDict):
    name: str
    calls: int
    tokens: int
    cost: float
    streamed: bool
    tool_calling: bool


class DiffStats(TypedDict):
    files: int
    added_lines: int


class PatchEvidence(TypedDict):
    fail_to_pass: list[str]
    pass_to_pass: list[str]
    candidate: int


class ScoreChange(TypedDict):
    before: float
    after: float
    delta: float


class ResolverResult(TypedDict):
    """The issue_resolver result document; the keys after ``repository_url`` come with a patch
    that passed (``resolved``) only."""

    summary: str
    resolved: bool
    passed: bool
    base_commit: str
    candidates: list[CandidateEvidence]
    model: ModelUsage
    trajectory: list[CallRecord]
    repository_url: str | None
    branch: NotRequired[str]
    commit: NotRequired[str]
    head_sha: NotRequired[str]
    diff: NotRequired[str]
    patch: NotRequired[str]
    diff_stats: NotRequired[DiffStats]
    evidence: NotRequired[PatchEvidence]
    score_change: NotRequired[ScoreChange]
    findings: NotRequired[list[FindingDict]]
    blocking_findings: NotRequired[int]
    findings_by_severity: NotRequired[dict[str, int]]
    quality: NotRequired[Quality]
    quality_score: NotRequired[float]
    tools: NotRequired[dict[str, str]]
    rules: NotRequired[dict[str, RuleInfo]]
    # With the agent's open_pull_request on: the JSON of the PullRequestRequest contract
    # (swe_common.events.contracts), which types it.
    pull_request: NotRequired[dict[str, Any]]


@dataclass
class Evidence:
    """What the tests said of one candidate."""

    index: int
    candidate: edits.Candidate
    regression: TestRun
    reproduction: TestRun
    broke: list[str] = field(default_factory=list)  # passed before, not after
    reproduced: bool = False

    @property
    def fixed(self) -> bool:
        return bool(self.reproduction.outcomes) and all(
            o == "PASSED" for o in self.reproduction.outcomes.values()
        )

    @property
    def regressions_ok(self) -> bool:
        return not self.broke and self.regression.limit is None

    @property
    def passed(self) -> bool:
        return self.regressions_ok and self.reproduced and self.fixed

    def rank(self) -> tuple[int, int, int, int]:
        return (
            int(self.regressions_ok),
            int(self.fixed),
            self.candidate.agreement,
            -self.candidate.samples[0],
        )

    def to_dict(self) -> CandidateEvidence:
        return {
            "candidate": self.index,
            "samples": self.candidate.samples,
            "agreement": self.candidate.agreement,
            "files": sorted(self.candidate.files),
            "passed": self.passed,
            "regressions": self.broke,
            "regression_tests": self.regression.to_dict(),
            "reproduction": self.reproduction.to_dict(),
        }


class Pipeline:
    def __init__(self, ctx: RunContext, client: ChatClient, budget: Budget, sandbox: CodeSandbox):
        self.ctx, self.client, self.budget, self.sandbox = ctx, client, budget, sandbox
        self.deps: Path | None = None  # the installed dependencies, when there are any
        issue = ctx.trigger.get("issue") or {}
        self.issue_text = f"{issue.get('title', '')}\n\n{issue.get('description', '')}".strip()

    async def ask(self, step: str, prompt: str, temperature: float = 0.0) -> str:
        await self.ctx.log(
            f"asking the model: {step} (call {self.budget.calls + 1} of {self.budget.max_calls})",
            {"step": step},
        )
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": prompt}]
        return await self.client.complete(messages, self.budget, step=step, temperature=temperature)

    # -- localize --------------------------------------------------------------------------

    async def localize(self, wc: Path, files: list[str]) -> dict[str, str]:
        """The code to show the repair step: path -> the relevant part of the file."""
        texts = {f: (wc / f).read_text(encoding="utf-8", errors="replace") for f in files}
        sources = [f for f in files if f not in self.tests]
        tree = skeleton.repository_skeleton(wc, sources)
        answer = await self.ask(
            "localize_files",
            f"Issue:\n{self.issue_text}\n\nRepository skeleton:\n{tree}\n\n"
            "Which files must be edited to resolve the issue? Answer with at most three "
            "paths from the skeleton, one per line, most likely first, inside a ``` block.",
        )
        chosen = [line.strip() for line in _fenced(answer).splitlines() if line.strip() in texts]
        chosen = list(dict.fromkeys(chosen))[:3] or [f for f in sources if f in self.issue_text]
        if not chosen:
            raise RunFailure("error", "the model named no file of the repository to edit")
        await self.ctx.log(f"suspicious files: {', '.join(chosen)}", {"step": "localize"})
        elements = {
            e.name if len(chosen) == 1 else f"{e.path}::{e.name}": e
            for f in chosen
            for e in skeleton.elements(f, texts[f])
        }
        answer = await self.ask(
            "localize_elements",
            f"Issue:\n{self.issue_text}\n\n"
            + "\n\n".join(skeleton.file_skeleton(f, texts[f]) for f in chosen)
            + "\n\nWhich classes, functions or methods must change? Answer one per line as "
            "path::Name (Class.method for a method) inside a ``` block.",
        )
        picked = []
        for line in _fenced(answer).splitlines():
            path, _, name = line.strip().partition("::")
            match = [e for e in elements.values() if e.path == path and e.name == name]
            picked += match
        if not picked:  # nothing usable named: show the whole files
            return {f: texts[f] for f in chosen}
        code = "\n\n".join(
            f"{e.path}::{e.name}\n{skeleton.numbered(texts[e.path], e.start, e.end)}"
            for e in picked
        )
        answer = await self.ask(
            "localize_lines",
            f"Issue:\n{self.issue_text}\n\n{code}\n\nWhich lines must be edited? Answer one "
            "range per line as path:START-END inside a ``` block.",
        )
        spans: dict[str, list[tuple[int, int]]] = {}
        for path, start, end in re.findall(r"^\s*(\S+?):(\d+)-(\d+)\s*$", _fenced(answer), re.M):
            if path in texts:
                spans.setdefault(path, []).append((int(start), int(end)))
        for e in picked:
            spans.setdefault(e.path, []).append((e.start, e.end))
        await self.ctx.log(
            "edit locations: "
            + ", ".join(f"{p}:{a}-{b}" for p, ss in spans.items() for a, b in ss[:3]),
            {"step": "localize"},
        )
        return {p: _window(texts[p], ss) for p, ss in spans.items()}

    # -- repair ----------------------------------------------------------------------------

    async def repair(
        self, shown: dict[str, str], read: dict[str, str | None]
    ) -> list[edits.Candidate]:
        samples = int(self.ctx.config.get("samples", 4))
        prompt = (
            f"Issue:\n{self.issue_text}\n\nCode:\n"
            + "\n\n".join(f"### {p}\n{code}" for p, code in shown.items())
            + "\n\nFix the issue. Answer only with search/replace edits in this exact format "
            "(SEARCH must copy existing lines exactly, indentation included):\n"
            "### path/to/file.py\n<<<<<<< SEARCH\nexisting lines\n=======\nnew lines\n"
            ">>>>>>> REPLACE"
        )
        candidates: list[edits.Candidate] = []
        rejected: dict[str, int] = {}
        stuck_after = int(self.ctx.config.get("stuck_after", 3))
        for sample in range(samples):
            answer = await self.ask("repair", prompt, temperature=0.0 if sample == 0 else 0.8)
            try:
                files = edits.apply_edits(edits.parse_edits(answer), read)
            except edits.EditRejected as exc:
                # A model sending back the same unusable answer is looping: stop it before
                # it spends the rest of the budget on nothing.
                rejected[answer] = rejected.get(answer, 0) + 1
                if rejected[answer] >= stuck_after:
                    raise RunFailure(
                        "stuck",
                        f"the model sent the same unusable edit {rejected[answer]} times ({exc})",
                    ) from None
                await self.ctx.log(f"candidate {sample + 1} discarded: {exc}", {"step": "repair"})
                continue
            found = edits.candidate(files, read, sample + 1)
            if found is None:
                await self.ctx.log(
                    f"candidate {sample + 1} discarded: it changes nothing", {"step": "repair"}
                )
                continue
            edits.merge(candidates, found)
        await self.ctx.log(
            f"{len(candidates)} distinct candidates from {samples} samples", {"step": "repair"}
        )
        return candidates

    # -- validate --------------------------------------------------------------------------

    async def reproduction_test(self, shown: dict[str, str]) -> str:
        answer = await self.ask(
            "reproduce",
            f"Issue:\n{self.issue_text}\n\nCode:\n"
            + "\n\n".join(f"### {p}\n{code}" for p, code in shown.items())
            + f"\n\nWrite a pytest file ({REPRO_FILE}, at the repository's root) with a test "
            "that fails because of the issue and passes once it is fixed. Answer with the "
            "whole file in a ```python block.",
        )
        return _fenced(answer)

    async def validate(
        self,
        wc: Path,
        work: Path,
        files: list[str],
        candidates: list[edits.Candidate],
        repro: str,
    ) -> tuple[list[Evidence], TestRun, TestRun]:
        edited = sorted({p for c in candidates for p in c.files})
        regression = related_tests(wc, files, edited, self.tests)
        await self.ctx.log(
            f"regression tests: {', '.join(regression) or 'none found'}", {"step": "validate"}
        )
        base_copy = await self._copy(wc, work / "before", {REPRO_FILE: repro})
        before = await run_tests(self.sandbox, base_copy, regression, self.deps)
        before_repro = await run_tests(self.sandbox, base_copy, [REPRO_FILE], self.deps)
        reproduced = bool(before_repro.outcomes) and not before_repro.passed >= set(
            before_repro.outcomes
        )
        if not before_repro.outcomes:  # the file did not even import: it fails
            reproduced = before_repro.returncode != 0 and before_repro.limit is None
        await self.ctx.log(
            f"before: {len(before.passed)} regression tests pass; the reproduction test "
            + ("fails (it reproduces the issue)" if reproduced else "does not fail"),
            {"step": "validate", "limit": before.limit or before_repro.limit},
        )
        results = []
        for index, cand in enumerate(candidates, start=1):
            copy = await self._copy(
                wc, work / f"candidate-{index}", {**cand.files, REPRO_FILE: repro}
            )
            after = await run_tests(self.sandbox, copy, regression, self.deps)
            after_repro = await run_tests(self.sandbox, copy, [REPRO_FILE], self.deps)
            evidence = Evidence(
                index,
                cand,
                after,
                after_repro,
                sorted(before.passed - after.passed),
                reproduced,
            )
            results.append(evidence)
            await self.ctx.log(
                f"candidate {index}: "
                + (f"breaks {', '.join(evidence.broke)}" if evidence.broke else "no regression")
                + ("; reproduction test passes" if evidence.fixed else "; reproduction fails")
                + (
                    f" (stopped: {after.limit or after_repro.limit})"
                    if after.limit or after_repro.limit
                    else ""
                ),
                {"step": "validate", "candidate": index, "passed": evidence.passed},
            )
        return results, before, before_repro

    async def install_dependencies(self, wc: Path, work: Path) -> None:
        """The dependency install step, before any model call: a repository whose tests need
        packages that cannot be installed fails now (``dependency_install_failed``)."""
        requirements = self.ctx.config.get("requirements_file", "requirements.txt")
        if not requirements:
            return
        copy = await self._copy(wc, work / "install", {})
        done = await install.install(
            self.sandbox, self.ctx.settings, copy, work / "deps", str(requirements)
        )
        if not done.ran:
            await self.ctx.log(f"no dependency install: {done.reason}", {"step": "install"})
            return
        if not done.ok:
            refused = f"; refused hosts: {', '.join(done.denied)}" if done.denied else ""
            raise RunFailure(
                "dependency_install_failed",
                f"installing {requirements} failed"
                + (f" ({done.limit})" if done.limit else "")
                + refused
                + f": {done.output.strip()[-600:]}",
            )
        self.deps = done.deps
        await self.ctx.log(f"dependencies of {requirements} installed", {"step": "install"})

    async def _copy(self, wc: Path, target: Path, files: dict[str, str]) -> Path:
        copy = await asyncio.to_thread(copy_tree, wc, target, files)
        await asyncio.to_thread(self.sandbox.own, copy)
        return copy

    @property
    def tests(self) -> TestPaths:
        return TestPaths.from_config(self.ctx.config)


def _window(text: str, spans: list[tuple[int, int]], margin: int = 15) -> str:
    """The lines around ``spans``, verbatim (search blocks must copy them exactly)."""
    lines = text.splitlines(keepends=True)
    keep: set[int] = set()
    for start, end in spans:
        keep.update(range(max(0, start - 1 - margin), min(len(lines), end + margin)))
    parts, last = [], -2
    for n in sorted(keep):
        if n != last + 1:
            parts.append("...\n")
        parts.append(lines[n])
        last = n
    out = "".join(parts)
    return out[:MAX_CODE_CHARS]


async def run(ctx: RunContext) -> ResolverResult:
    client = make_client(ctx)
    config = ctx.config
    budget = make_budget(config)
    issue = ctx.trigger.get("issue") or {}
    branch = _branch_name(config, issue, ctx.run_id)
    sandbox = await ctx.code_sandbox()  # before any model call: no sandbox, no run
    ctx.trajectory = client.trajectory
    client.on_call = _logger(ctx)
    if ctx.spend is not None:
        client.before_call, client.after_call = ctx.spend.check, ctx.spend.add
    repo = await ctx.repository()
    ref = ctx.trigger.get("ref") or ctx.default_branch
    base = await ctx.resolve(repo, ref)
    work_pipeline = Pipeline(ctx, client, budget, sandbox)
    async with workspace(ctx.work_root) as work:
        wc = await _working_copy(repo, work, base, branch)
        await work_pipeline.install_dependencies(wc, work)
        files = await asyncio.to_thread(pipeline.list_python_files, wc)
        shown = await work_pipeline.localize(wc, files)
        read: dict[str, str | None] = {
            f: (wc / f).read_text(encoding="utf-8", errors="replace") for f in files
        }
        candidates = await work_pipeline.repair(shown, read)
        if not candidates:
            return _unresolved(ctx, client, budget, base, "no candidate patch applied", [])
        repro = await work_pipeline.reproduction_test(shown)
        evidence, before, _ = await work_pipeline.validate(wc, work, files, candidates, repro)
        evidence.sort(key=lambda e: e.rank(), reverse=True)
        best = evidence[0]
        if not best.passed:
            reason = (
                "the reproduction test did not fail before any change"
                if not best.reproduced
                else "every candidate broke a test or left the reproduction test failing"
            )
            return _unresolved(
                ctx, client, budget, base, f"no candidate passed: {reason}", evidence
            )
        result = await _deliver(ctx, client, budget, wc, base, branch, best, evidence, before)
        if config.get("open_pull_request"):
            request = _pull_request_request(ctx, ref, base, branch, best, result)
            result["pull_request"] = request.model_dump(mode="json", exclude_none=True)
            await ctx.log(
                f"a draft pull request from {branch} is requested (opened by the issues service)",
                {"step": "deliver"},
            )
        return result


def _logger(ctx: RunContext) -> OnCall:
    async def on_call(call: Call) -> None:
        await ctx.log(
            f"model call {call.index} ({call.step}): {call.prompt_tokens}+"
            f"{call.completion_tokens} tokens, {call.latency_ms} ms",
            {
                "step": "trajectory",
                "call": call.index,
                "answer": call.answer[:4000],
                "cost": round(call.cost, 6),
            },
        )

    return on_call


def _usage(ctx: RunContext, client: ChatClient, budget: Budget) -> ModelUsage:
    return {
        "name": client.model,
        "calls": budget.calls,
        "tokens": budget.tokens,
        "cost": round(budget.cost, 6),
        "streamed": client.stream,
        "tool_calling": client.tools,
    }


def _unresolved(
    ctx: RunContext,
    client: ChatClient,
    budget: Budget,
    base: str,
    summary: str,
    evidence: list[Evidence],
) -> ResolverResult:
    return {
        "summary": summary,
        "resolved": False,
        "passed": False,
        "base_commit": base,
        "candidates": [e.to_dict() for e in evidence],
        "model": _usage(ctx, client, budget),
        "trajectory": [c.to_dict() for c in client.trajectory],
        "repository_url": ctx.repository_web_url,
    }


async def _deliver(
    ctx: RunContext,
    client: ChatClient,
    budget: Budget,
    wc: Path,
    base: str,
    branch: str,
    best: Evidence,
    evidence: list[Evidence],
    before: TestRun,
) -> ResolverResult:
    config = ctx.config
    options = pipeline.AnalysisOptions(
        tool_timeout=ctx.settings.tool_timeout_seconds,
        tests=TestPaths.from_config(config),
        quality_formula=str(config.get("quality_formula") or DEFAULT_FORMULA),
    )
    py = [p for p in best.candidate.files if p.endswith(".py") and pipeline.representable(p)]
    existing = [p for p in py if (wc / p).exists()]
    tool_sandbox = ctx.sandbox()
    analysis_before = await pipeline.analyze_tree(
        wc, existing, options, ctx.log, sandbox=tool_sandbox
    )
    for rel, text in best.candidate.files.items():
        (wc / rel).parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread((wc / rel).write_text, text, "utf-8")
    await _git(wc, "add", "--all", "--", *best.candidate.files)
    code, _, err = await _git(
        wc, "commit", "--quiet", "--no-verify", "-m", f"Resolve: {_title(ctx)[:72]}"
    )
    if code != 0:
        raise RunFailure("error", f"the patch changes nothing: {err.strip()[:200]}")
    _, head, _ = await _git(wc, "rev-parse", "HEAD")
    _, status, _ = await _git(wc, "diff", "--name-status", "-z", "-M", base, "HEAD")
    _, unified0, _ = await _git(wc, "diff", "--no-ext-diff", "--unified=0", "-M", base, "HEAD")
    _, diff, _ = await _git(wc, "diff", "--no-ext-diff", "-M", base, "HEAD")
    changes = [c for c in parse_changes(status, unified0) if c.status != "D"]
    analysis = await pipeline.analyze_tree(wc, py, options, ctx.log, sandbox=tool_sandbox)
    added = {c.path: c.added_lines for c in changes}
    on_changed = [
        f for f in pipeline.shown(analysis.findings) if f.line in added.get(f.path, frozenset())
    ]
    q = pipeline.score(analysis, on_changed, options.quality_formula)
    q_before = pipeline.score(
        analysis_before, pipeline.shown(analysis_before.findings), options.quality_formula
    )
    q_after = pipeline.score(analysis, pipeline.shown(analysis.findings), options.quality_formula)
    fixed = sorted(best.reproduction.passed)
    result: ResolverResult = {
        "summary": (
            f"patch on branch {branch}: {_count(len(changes), 'file')} changed; "
            f"{_count(len(fixed), 'reproduction test')} failing before and passing after, "
            f"{_count(len(before.passed), 'regression test')} still passing; "
            f"candidate {best.index} of {len(evidence)} (agreed by {best.candidate.agreement})"
        ),
        "resolved": True,
        "passed": True,
        "branch": branch,
        "base_commit": base,
        "commit": head.strip(),
        "head_sha": head.strip(),
        "diff": diff,
        "patch": best.candidate.diff,
        "diff_stats": {
            "files": len(changes),
            "added_lines": sum(len(c.added_lines) for c in changes),
        },
        "evidence": {
            "fail_to_pass": fixed,
            "pass_to_pass": sorted(before.passed),
            "candidate": best.index,
        },
        "candidates": [e.to_dict() for e in evidence],
        "score_change": {
            "before": q_before["score"],
            "after": q_after["score"],
            "delta": round(q_after["score"] - q_before["score"], 2),
        },
        "findings": [f.to_dict() for f in on_changed],
        "blocking_findings": sum(severity_at_least(f.severity, "high") for f in on_changed),
        "findings_by_severity": pipeline.counts(on_changed)["by_severity"],
        "quality": q,
        "quality_score": q["score"],
        "model": _usage(ctx, client, budget),
        "trajectory": [c.to_dict() for c in client.trajectory],
        "repository_url": ctx.repository_web_url,
        "tools": analysis.tools,
        "rules": pipeline.described(analysis, on_changed),
    }
    await ctx.log(result["summary"], {"step": "report"})
    return result


def _pull_request_request(
    ctx: RunContext, ref: str, base: str, branch: str, best: Evidence, result: ResolverResult
) -> PullRequestRequest:
    """The ``PullRequestRequest`` (swe_common.events.contracts) the issues service opens."""
    title = _title(ctx) or "the issue"
    evidence = result["evidence"]
    body = "\n".join(
        [
            f"Resolves: {title}",
            "",
            f"Validated in a sandbox against {base[:12]}:",
            *[f"- fails before, passes after: `{t}`" for t in evidence["fail_to_pass"]],
            f"- {len(evidence['pass_to_pass'])} existing tests that touch the edited code "
            "still pass",
            f"- quality score {result['score_change']['before']} -> "
            f"{result['score_change']['after']}",
        ]
    )
    return PullRequestRequest(
        branch=branch,
        # A run on a commit proposes its patch for the default branch.
        base_ref=ctx.default_branch if _SHA.match(ref) else ref,
        base_commit=base,
        title=f"Resolve: {title}"[:250],
        body=body,
        message=f"Resolve: {title[:72]}",
        files=dict(best.candidate.files),
    )


def _title(ctx: RunContext) -> str:
    return str((ctx.trigger.get("issue") or {}).get("title", ""))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
