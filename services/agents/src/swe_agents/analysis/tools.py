"""Running external tools: argument lists, no shell, a timeout, a clean environment, and a
process group that is killed as a whole on timeout or cancellation.

Repository content is data, never options: every repository path reaches a command through
:func:`path_operands` (after ``--``), so a file named ``-o`` or ``--version`` is a path.

Python tools run as ``python -I -m <tool>``: ``-I`` keeps the cwd off ``sys.path``, so a
repository that ships a ``bandit.py`` cannot get its own code executed.

Analysis tools run through a :class:`Sandbox`: when the worker runs as root (a dev host), inside
bubblewrap as uid 65534 with no network, the system and the checkout read-only and one
writable scratch folder of the run; in the images the worker is already an unprivileged user.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from swe_agents.sandbox import SANDBOX_UID, base_command, python_dirs

# Only what the tools need; never the worker's own environment (it holds secrets).
_SAFE_PATH = os.pathsep.join(
    [str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"]
)
MAX_OUTPUT_BYTES = 64 * 1024 * 1024


class ToolError(RuntimeError):
    """A tool could not run or its output could not be read."""


class ToolTimeout(ToolError):
    """A tool ran past its time limit and was killed."""


@dataclass(frozen=True, slots=True)
class ToolResult:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    raw_stdout: bytes = b""
    # True when the output passed ``max_stdout`` bytes: the tool was stopped there.
    truncated: bool = False


def clean_env(home: Path | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        "PATH": _SAFE_PATH,
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "HOME": str(home or "/nonexistent"),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_TERMINAL_PROMPT": "0",
    }
    env.update(extra or {})
    return env


def python_tool(module: str, *args: str) -> list[str]:
    return [sys.executable, "-I", "-m", module, *args]


def path_operands(paths: Iterable[str | Path]) -> list[str]:
    """Repository paths as a command's last arguments: after ``--``, so that no name (``-o``,
    ``-f/etc/passwd``, ``--version``) is ever read as an option. Every tool and git call that
    takes repository paths builds them here."""
    return ["--", *(str(path) for path in paths)]


class SandboxUnavailable(ToolError):
    """Tools would run as root without a sandbox, and this configuration does not allow it."""


@dataclass(frozen=True, slots=True)
class Sandbox:
    """How analysis tools are confined. ``bwrap``: the bubblewrap binary, or None to run them
    as the worker's own (unprivileged) user; ``warning``: why a root worker runs them bare."""

    bwrap: str | None = None
    warning: str | None = None

    def command(self, argv: Sequence[str], *, readable: Sequence[Path], scratch: Path) -> list[str]:
        """``argv`` confined: only the system, ``readable`` (read-only) and ``scratch``
        (writable, the cwd) exist; no network; uid 65534."""
        if self.bwrap is None:
            return list(argv)
        wrapped = base_command(
            self.bwrap,
            uid=SANDBOX_UID,
            readable=[(path, str(path)) for path in [*python_dirs(), *readable]],
            writable=[(scratch, str(scratch))],
        )
        wrapped += ["--remount-ro", "/"]
        wrapped += ["--chdir", str(scratch), "--", *argv]
        return wrapped


def choose_sandbox(mode: str, *, production: bool) -> Sandbox:
    """The sandbox for ``mode`` (``auto``: bubblewrap when the worker runs as root; ``bwrap``:
    always; ``none``: never). Raises :class:`SandboxUnavailable` rather than running tools as
    root unconfined in production (or whenever ``bwrap`` is asked for)."""
    return _choose_sandbox(mode, production, os.geteuid() == 0)


@lru_cache(maxsize=8)
def _choose_sandbox(mode: str, production: bool, root: bool) -> Sandbox:
    if mode == "none" or (mode == "auto" and not root):
        return Sandbox()
    binary = shutil.which("bwrap", path=_SAFE_PATH)
    problem = _bwrap_problem(binary)
    if problem is None:
        return Sandbox(binary)
    message = (
        f"analysis tools need a bubblewrap sandbox when the worker runs as root: {problem} "
        "(install the bubblewrap package, run the worker as an unprivileged user, "
        "or set AGENTS_TOOL_SANDBOX=none to accept running them unconfined)"
    )
    if mode == "bwrap" or production:
        raise SandboxUnavailable(message)
    return Sandbox(warning=message)


def _bwrap_problem(binary: str | None) -> str | None:
    """Why bubblewrap cannot confine a tool here, or None when it can (tried once)."""
    if binary is None:
        return "bwrap is not installed"
    probe = Sandbox(binary).command(["true"], readable=[], scratch=Path(tempfile.gettempdir()))
    try:
        result = subprocess.run(probe, capture_output=True, timeout=30, check=False)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bwrap does not start ({exc})"
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip()
        return f"bwrap cannot make a sandbox here ({reason})"
    return None


def _kill_group(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def run_tool(
    argv: list[str],
    *,
    cwd: Path,
    limit: float,
    env: dict[str, str] | None = None,
    stdin: bytes | None = None,
    max_stdout: int | None = None,
) -> ToolResult:
    """Run ``argv`` to completion; kill its whole process group on timeout or cancellation.

    ``max_stdout``: keep at most this many bytes of its output, and stop the tool once it has
    written more (``truncated``), so a huge output never has to fit in memory."""
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(cwd),
            env=env if env is not None else clean_env(),
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,  # its own process group, so children die with it
            limit=MAX_OUTPUT_BYTES,
        )
    except OSError as exc:
        raise ToolError(f"cannot start {argv[0]}: {exc.strerror}") from None
    try:
        async with asyncio.timeout(limit):
            if max_stdout is None:
                out, err = await process.communicate(stdin)
                truncated = False
            else:
                out, err, truncated = await _bounded(process, stdin, max_stdout)
    except TimeoutError:
        _kill_group(process)
        await process.wait()
        raise ToolTimeout(f"{Path(argv[0]).name} {' '.join(argv[1:4])} exceeded {limit}s") from None
    except BaseException:
        _kill_group(process)
        with contextlib.suppress(Exception):
            await asyncio.shield(process.wait())
        raise
    # A tool's own children could outlive it; the group goes with the run.
    _kill_group(process)
    return ToolResult(
        tuple(argv),
        process.returncode if process.returncode is not None else -1,
        out.decode("utf-8", errors="replace"),
        err.decode("utf-8", errors="replace"),
        out,
        truncated,
    )


async def _bounded(
    process: asyncio.subprocess.Process, stdin: bytes | None, max_stdout: int
) -> tuple[bytes, bytes, bool]:
    """Like ``communicate``, keeping at most ``max_stdout`` bytes of stdout; past that the
    process group is killed (its output is not wanted) and the result says so."""
    assert process.stdout is not None and process.stderr is not None
    if process.stdin is not None:
        process.stdin.write(stdin or b"")
        await process.stdin.drain()
        process.stdin.close()

    async def read_stdout() -> tuple[bytes, bool]:
        assert process.stdout is not None
        chunks, size = [], 0
        while chunk := await process.stdout.read(64 * 1024):
            chunks.append(chunk)
            size += len(chunk)
            if size > max_stdout:
                _kill_group(process)
                return b"".join(chunks)[:max_stdout], True
        return b"".join(chunks), False

    (out, truncated), err = await asyncio.gather(read_stdout(), process.stderr.read())
    await process.wait()
    return out, err, truncated
