"""The dependency install step: a repository's ``requirements.txt`` installed into a folder
(``/deps``) that its tests then import from, read-only.

It runs in the sandbox like any repository code (pip reads the repository's file, and a
requirement can name anything), with the test runtime's pip, wheels only (``--only-binary
:all:``: no package's build script runs), and where it may fetch from decided by the worker:

* by default no package index: only the wheels the worker's cache holds
  (``AGENTS_INSTALL_WHEEL_DIR``, bound read-only at ``/wheels``; ``--no-index``);
* with ``AGENTS_INSTALL_INDEX_URL`` set, that index too, reached only through
  :class:`swe_agents.egress.EgressProxy`: the sandbox keeps no network of its own, and the
  proxy connects to the index's host (and ``AGENTS_INSTALL_ALLOWED_HOSTS``) and nowhere else,
  whatever the requirements file says (``--index-url`` lines in it included).
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from swe_agents.egress import BRIDGE, INSIDE, PORT, SOCKET_NAME, EgressProxy, allowed_hosts
from swe_agents.sandbox import CodeSandbox
from swe_agents.settings import Settings

WHEELS = "/wheels"
DEPS_PATH = "/deps"


@dataclass
class Installed:
    """What the step did: ``ran`` False when there was nothing to install or nowhere to
    install from (``reason`` says which)."""

    ran: bool
    ok: bool = True
    reason: str = ""
    output: str = ""
    limit: str | None = None
    denied: list[str] = field(default_factory=list)  # hosts the proxy refused
    deps: Path | None = None


def sources(settings: Settings) -> tuple[str | None, Path | None]:
    index = settings.install_index_url or None
    wheels = Path(settings.install_wheel_dir) if settings.install_wheel_dir else None
    return index, wheels


def pip_arguments(index: str | None, wheels: Path | None, requirements: str) -> list[str]:
    args = [
        "install",
        "--no-input",
        "--disable-pip-version-check",
        "--no-cache-dir",
        "--no-warn-script-location",
        "--only-binary",
        ":all:",
        "--target",
        DEPS_PATH,
    ]
    if wheels is not None:
        args += ["--find-links", WHEELS]
    if index is None:
        args += ["--no-index"]
    else:
        args += ["--index-url", index, "--proxy", f"http://127.0.0.1:{PORT}"]
    return [*args, "--requirement", requirements]


async def install(
    sandbox: CodeSandbox, settings: Settings, copy: Path, deps: Path, requirements: str
) -> Installed:
    """Install ``requirements`` (a path in the working copy ``copy``) into ``deps``."""
    if not (copy / requirements).is_file():
        return Installed(False, reason=f"no {requirements} in the repository")
    index, wheels = sources(settings)
    if index is None and wheels is None:
        return Installed(
            False,
            reason="no package index and no wheel cache configured "
            "(AGENTS_INSTALL_INDEX_URL, AGENTS_INSTALL_WHEEL_DIR)",
        )
    await asyncio.to_thread(deps.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread(sandbox.own, deps)
    binds: list[tuple[Path, str]] = [(wheels, WHEELS)] if wheels is not None else []
    args = pip_arguments(index, wheels, requirements)
    if index is None:
        result = await sandbox.run(
            ["python", "-I", "-m", "pip", *args],
            repo=copy,
            deps=deps,
            deps_writable=True,
            binds=binds,
        )
        return _installed(result.ok, result.output, result.limit, [], deps)
    # A short path: a Unix socket's name is limited to about a hundred bytes.
    folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="swe-egress-"))
    try:
        allowed = allowed_hosts(index, settings.install_allowed_hosts)
        async with EgressProxy(folder, allowed) as proxy:
            result = await sandbox.run(
                ["python", "-I", "-c", BRIDGE, f"{INSIDE}/{SOCKET_NAME}", str(PORT), *args],
                repo=copy,
                deps=deps,
                deps_writable=True,
                binds=[*binds, (folder, INSIDE)],
            )
        return _installed(result.ok, result.output, result.limit, proxy.denied, deps)
    finally:
        await asyncio.to_thread(shutil.rmtree, folder, True)


def _installed(
    ok: bool, output: str, limit: str | None, denied: list[str], deps: Path
) -> Installed:
    return Installed(True, ok, "", output[-4000:], limit, sorted(set(denied)), deps)
