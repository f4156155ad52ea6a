"""Running external tools: argument lists, no shell, a timeout, a clean environment, and a
process group that is killed as a whole on timeout or cancellation.

Python tools run as ``python -I -m <tool>``: ``-I`` keeps the checkout (the cwd) off
``sys.path``, so a repository that ships a ``bandit.py`` cannot get its own code executed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

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
) -> ToolResult:
    """Run ``argv`` to completion; kill its whole process group on timeout or cancellation."""
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
            out, err = await process.communicate(stdin)
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
    )
