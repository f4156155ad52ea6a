"""The internet services the stack calls, faked on 127.0.0.1: GitHub's REST API (the issues
service delivers a resolver's draft pull request through its Git Data API) and an
OpenAI-compatible model provider (the resolver agent's model). Both are the services' own test
fakes (``swe_common.testing_github``, ``swe_common.testing_llm``), which speak the real wire
formats and check each request's shape and credentials.

They run in an event loop of their own, in a thread, so they answer whatever the test process
is doing (starting the stack, a synchronous test, a browser test waiting on a page).

A project whose repository is ``file:///…/<name>`` (what the worker clones) stands for the
GitHub repository ``local/<name>`` (``ISSUES_ALLOW_FILE_REPOSITORIES``): :meth:`mirror` gives
the fake GitHub that repository with the clone's own commit, so the delivery's Git Data calls
(base commit, tree, blobs, commit, ref, pull request) find what a real GitHub would hold.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from swe_common.testing import served
from swe_common.testing_github import FakeGitHub
from swe_common.testing_llm import FakeProvider

# What the stack's services present: the issues service the project's own token (set through
# its API), the agents worker the model provider's key (AGENTS_LLM_API_KEY).
GITHUB_PROJECT_TOKEN = "ghp_e2e_project_token_0001"
LLM_API_KEY = "sk-e2e-fake-provider"
LLM_MODEL = "fake-resolver-model"


class FakeInternet:
    def __init__(self) -> None:
        # The platform has no token of its own here: a project without one fails to deliver.
        self.github = FakeGitHub(token="ghp_e2e_platform_token_unused")
        self.github.accepted.add(GITHUB_PROJECT_TOKEN)
        self.provider = FakeProvider(api_key=LLM_API_KEY)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._servers = contextlib.AsyncExitStack()

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def start(self) -> FakeInternet:
        self.thread.start()
        self._call(self._start())
        return self

    async def _start(self) -> None:
        self.github.url = await self._servers.enter_async_context(served(self.github.app()))
        await self.provider.start()

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._call(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    async def _stop(self) -> None:
        await self.provider.stop()
        await self._servers.aclose()

    def env(self) -> dict[str, str]:
        """What the stack's processes need to call the fakes."""
        return {
            "ISSUES_GITHUB_API_URL": self.github.url,
            "ISSUES_ALLOW_FILE_REPOSITORIES": "true",
            "AGENTS_LLM_API_KEY": LLM_API_KEY,
        }

    def script(self, replies: list[str], hold: float = 0.0) -> None:
        """The model's next answers, in order (the fake answers "I cannot help" after them).
        ``hold``: each answer waits up to that many seconds, until :meth:`release`."""
        self._call(self._reset(replies, hold))

    async def _reset(self, replies: list[str], hold: float) -> None:
        self.provider.reset(replies, delay=hold)

    def release(self) -> None:
        self.loop.call_soon_threadsafe(self.provider.release)

    def mirror(self, repository: Path) -> str:
        """Give the fake GitHub the repository ``local/<directory name>`` at the clone's main
        commit (its files and sha); the repository's full name."""
        sha = _git(repository, "rev-parse", "main")
        names = _git(repository, "ls-tree", "-r", "--name-only", "main").splitlines()
        files = {name: _git(repository, "show", f"main:{name}") + "\n" for name in names}
        self.github.add_repository("local", repository.name, files, sha=sha)
        return f"local/{repository.name}"

    def refuse(self, full_name: str, call: str, status: int) -> None:
        """GitHub answers ``status`` to ``call`` ("POST /git/refs") on that repository."""
        self.github.failures[f"{full_name} {call}"] = status


def _git(repository: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=repository, capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.rstrip("\n")
