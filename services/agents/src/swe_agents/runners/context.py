"""The run context a runner receives, and the failure it raises with an exit reason."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from swe_agents.analysis.checkout import Repository, RepositoryUnreachable, validate_url
from swe_agents.analysis.diffs import DiffDocument
from swe_agents.analysis.snippets import Window
from swe_agents.analysis.tools import Sandbox, SandboxUnavailable, choose_sandbox
from swe_agents.sandbox import CodeSandbox, code_sandbox
from swe_agents.sandbox import SandboxUnavailable as CodeSandboxUnavailable
from swe_agents.settings import Settings
from swe_common import tracing

if TYPE_CHECKING:  # both import this module (RunFailure)
    from swe_agents.resolver.spend import DailySpend
    from swe_agents.runners.llm import Call

LogFn = Callable[[str, dict[str, Any]], Awaitable[None]]


class RunFailure(Exception):
    def __init__(self, exit_reason: str, message: str) -> None:
        super().__init__(message)
        self.exit_reason = exit_reason
        self.message = message


@dataclass
class RunContext:
    settings: Settings
    run_id: str
    agent_type: str
    config: dict[str, Any]
    trigger: dict[str, Any]
    repository_url: str
    default_branch: str
    log: LogFn
    previous_review_head: str | None = None
    work_root: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # The diff a review looked at (diffs.ReviewDiff.to_dict()): stored beside the run, not in
    # its result (which events carry).
    diff: DiffDocument | None = None
    # Source lines around the findings (analysis/snippets.py): stored beside the run too.
    sources: list[Window] = field(default_factory=list)
    # The repository's canonical URL (no credentials, no ".git"), known once it is validated.
    repository_web_url: str | None = None
    # Every model call of the run (runners.llm.Call), kept even when the run fails.
    trajectory: list[Call] | None = None
    # The project's daily model budget (resolver.spend.DailySpend), when the agent sets one.
    spend: DailySpend | None = None

    def sandbox(self) -> Sandbox:
        """The analysis tools' sandbox (a run fails rather than run them unconfined as root)."""
        try:
            return choose_sandbox(
                self.settings.tool_sandbox, production=self.settings.is_production
            )
        except SandboxUnavailable as exc:
            raise RunFailure("error", str(exc)) from None

    async def code_sandbox(self) -> CodeSandbox:
        """The sandbox repository code runs in; without one the run fails
        (``sandbox_unavailable``): its code is never run bare."""
        try:
            # Probed once per process (a short bwrap run), off the event loop.
            return await asyncio.to_thread(
                code_sandbox, self.settings.sandbox_limits(), self.settings.test_runtime_path()
            )
        except CodeSandboxUnavailable as exc:
            raise RunFailure(
                "sandbox_unavailable",
                f"repository code runs only in a bubblewrap sandbox, and there is none: {exc}",
            ) from None

    async def repository(self, shallow: bool = False) -> Repository:
        """The validated repository's cache, fetched (refused before any clone when not allowed)."""
        try:
            ref = await asyncio.to_thread(
                validate_url,
                self.repository_url,
                self.settings.allowed_repository_hosts,
                self.settings.allow_file_repositories,
            )
        except RepositoryUnreachable as exc:
            raise RunFailure("repository_unreachable", str(exc)) from None
        self.repository_web_url = ref.url
        repo = Repository(
            Path(self.settings.checkout_cache_dir),
            ref.clone_url,
            allow_file=self.settings.allow_file_repositories,
            timeout=self.settings.git_timeout_seconds,
        )
        await self.log("fetching repository", {"step": "checkout"})
        with tracing.span("step checkout", **{"swe.checkout.shallow": shallow}):
            try:
                await repo.fetch(shallow=shallow)
            except RepositoryUnreachable as exc:
                raise RunFailure("repository_unreachable", str(exc)) from None
        return repo

    async def resolve(self, repo: Repository, ref: str) -> str:
        try:
            try:
                return await repo.resolve(ref)
            except RepositoryUnreachable:
                if not await repo.is_shallow():
                    raise
                # A commit below the tips of a shallow cache: fetch the history, then retry.
                await repo.fetch(shallow=False)
                return await repo.resolve(ref)
        except (RepositoryUnreachable, ValueError) as exc:
            raise RunFailure("repository_unreachable", str(exc)) from None
