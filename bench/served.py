"""What the benchmarks that run a real app share: the app under uvicorn in a subprocess, the
CPU time the kernel counts for it, and py-spy sampling it (``auth_bench``, ``services_bench``).

``cpu_seconds`` reads ``/proc/<pid>/stat`` (utime + stime): the server's own cost, steady while
the machine is shared, unlike a wall-clock rate, which moves with everyone's load.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path

import aiohttp

from swe_common.testing import free_port, machine_cpu_jiffies

ROOT = Path(__file__).resolve().parents[1]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """utime + stime of process ``pid`` (every thread), or of its thread ``tid`` alone
    (``tid == pid``: the main thread, where the event loop runs); fields 14 and 15 of the stat
    line, counted after the command name (which may hold spaces)."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    with open(path) as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def machine_busy_seconds() -> float:
    """CPU seconds every core of the machine spent busy (every process: the server, PostgreSQL,
    Redis, RabbitMQ, the benchmark's clients, and anyone else's)."""
    return machine_cpu_jiffies()[0] / TICKS


def baseline_env(variable: str) -> dict[str, str] | None:
    """``<variable>=<checkout>`` (``SERVICES_BENCH_BASELINE``, ``AUTH_BENCH_BASELINE``): the
    environment of a second server running that checkout's code (its ``src`` folders first
    on PYTHONPATH, ahead of this venv's editable installs), on the same database, its phases
    interleaved with this code's: before and after in one run. None when unset."""
    tree = os.environ.get(variable)
    if not tree:
        return None
    sources = [Path(tree) / "libs" / "common" / "src"]
    sources += sorted((Path(tree) / "services").glob("*/src"))
    return {"PYTHONPATH": os.pathsep.join(str(p) for p in sources)}


class UvicornApp:
    """``python -m uvicorn --factory <factory>`` on a free local port with ``env`` added to
    this environment, ready once ``ready_path`` answers 200. Its stderr is drained by a
    thread (a full pipe would stall the server's logging), counting lines and keeping the last
    few to explain a failed start."""

    def __init__(
        self,
        factory: str,
        env: Mapping[str, str],
        *,
        ready_path: str = "/health/live",
        extra_args: tuple[str, ...] = (),
        python_args: tuple[str, ...] = (),
    ) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **env}
        self.ready_path = ready_path
        self.command = [
            sys.executable, *python_args, "-m", "uvicorn", "--factory", factory,
            "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log", *extra_args,
        ]  # fmt: skip
        self.process: subprocess.Popen[bytes] | None = None
        self.log_lines = 0
        self.last_lines: deque[bytes] = deque(maxlen=20)

    def _drain(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self.log_lines += 1
            self.last_lines.append(line)

    async def __aenter__(self) -> UvicornApp:
        self.process = subprocess.Popen(
            self.command, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + 60
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    await asyncio.sleep(0.5)  # the drain thread reads the last lines
                    said = b"".join(self.last_lines).decode(errors="replace")
                    raise RuntimeError(f"the app exited during start-up:\n{said}")
                try:
                    async with http.get(self.base + self.ready_path) as response:
                        if response.status == 200:
                            return self
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.2)
        raise RuntimeError(f"the app did not answer {self.ready_path} within 60 s")

    async def __aexit__(self, *_: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


class PySpy:
    """py-spy (installed by hand: a profiling tool, not a dependency) sampling ``pid`` into
    ``output`` as collapsed stacks, from ``start`` to ``stop``."""

    def __init__(self, pid: int, output: str | Path, *, rate: int = 500, threads: bool = False):
        self.args = [
            "py-spy", "record", "--pid", str(pid), "--format", "raw", "--rate", str(rate),
            "--output", str(output), "--nonblocking", *(["--threads"] if threads else []),
        ]  # fmt: skip
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(*self.args)
        await asyncio.sleep(1)  # attached before the measured work starts

    async def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(2)
            await self.process.wait()
