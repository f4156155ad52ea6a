"""The sandbox for repository code: every command that runs code of a repository (its tests,
its dependency install) runs here, under bubblewrap, and never bare.

What one call gets (:meth:`CodeSandbox.run`):

* new user, PID, IPC, UTS, cgroup and network namespaces (``--unshare-all``); no capabilities;
  no further user namespaces; its own session; dies with the worker;
* as the outside user :data:`SANDBOX_UID` (a root worker drops to it before ``bwrap``, so the
  kernel's per-user process limit applies: root is exempt from it);
* the system (``/usr``, the libraries, the Python that runs the tests) read-only; the run's
  working copy at ``/repo`` the only writable host path; its own ``/tmp`` (a size-limited
  tmpfs, also ``HOME``); optionally ``/deps`` (installed dependencies), read-only;
* ``python`` on its ``PATH`` is the test runtime's (``runtime``: a venv holding pytest and
  pip, /opt/test-runtime in the worker image, so the service's own venv stays free of test
  tools), else the worker's own interpreter (development, where the venv has pytest);
* exactly the environment it is given (no token, no database URL);
* a lower scheduling priority than the worker (nice 10, which it cannot undo);
* limits: CPU seconds, address space, processes, open files, file size (``prlimit``), the
  output kept (past it the command is killed: ``output_limit``), the working copy's growth
  (watched; past it: ``disk_limit``), a wall clock (``timeout``); killed as a whole (its
  process group; the PID namespace takes every descendant with it).

What it does not give: no seccomp filter (the kernel's whole system-call surface is reachable
from the namespaces), no memory cgroup (RLIMIT_AS bounds each process, not their sum), no
bound on the CPU time of processes that keep forking short-lived children beyond the wall
clock, and the system directories and the worker's Python packages are readable.
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
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

SANDBOX_UID = 65534  # nobody
REPO = "/repo"
DEPS = "/deps"

# The system a command needs, read-only.
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/etc/ld.so.cache")
_SYSTEM_FILES = ("/etc/ssl", "/etc/ca-certificates", "/etc/alternatives", "/etc/localtime")
_TOOL_PATH = "/usr/local/bin:/usr/bin:/bin"
NICENESS = 10  # repository code's scheduling priority (the worker runs at 0)
DISK_POLL_SECONDS = 0.05
DISK_WALK_SECONDS = 1.0  # the longest between two walks of the watched folders


class SandboxUnavailable(RuntimeError):
    """bubblewrap cannot confine repository code on this machine."""


@dataclass(frozen=True, slots=True)
class Limits:
    wall_seconds: float = 300.0
    cpu_seconds: int = 300
    memory_bytes: int = 2 * 1024**3  # address space of each process
    processes: int = 256
    open_files: int = 512
    file_bytes: int = 256 * 1024**2  # the largest file it may write
    output_bytes: int = 8 * 1024**2  # stdout and stderr kept, together
    disk_bytes: int = 1024**3  # growth of the working copy
    tmp_bytes: int = 256 * 1024**2  # its /tmp


@dataclass(frozen=True, slots=True)
class SandboxResult:
    returncode: int
    output: str  # stdout and stderr interleaved, at most ``Limits.output_bytes``
    # None when the command ended by itself; else what stopped it: timeout, output_limit,
    # disk_limit, cpu_limit, file_size_limit.
    limit: str | None
    seconds: float

    @property
    def ok(self) -> bool:
        return self.limit is None and self.returncode == 0


def base_command(
    bwrap: str,
    *,
    uid: int,
    readable: Sequence[tuple[Path, str]] = (),
    writable: Sequence[tuple[Path, str]] = (),
    tmp_bytes: int | None = None,
    network: bool = False,
    user_namespace: bool = True,
) -> list[str]:
    """The bubblewrap arguments every sandbox here is built from: new PID, IPC, UTS, cgroup
    and network namespaces (no network namespace when ``network``), with ``user_namespace``
    a user namespace too (uid ``uid`` inside, no capabilities; without it the caller drops
    privileges itself), dies with its parent, its own session, the system read-only,
    ``readable`` (host path, sandbox path) read-only, ``writable`` read-write, and its own
    ``/tmp`` when ``tmp_bytes`` is given. Ends before ``--`` and the command."""
    if user_namespace:
        argv = [bwrap, "--unshare-all", "--unshare-user", "--uid", str(uid), "--gid", str(uid)]
        argv += ["--cap-drop", "ALL", *(["--share-net"] if network else [])]
    else:
        argv = [bwrap, "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        argv += [] if network else ["--unshare-net"]
    argv += ["--hostname", "sandbox", "--die-with-parent", "--new-session"]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    made: set[str] = set()
    for system in (*_SYSTEM_DIRS, *_SYSTEM_FILES):
        path = Path(system)
        if path.is_symlink():
            argv += [*_parents(system, made), "--symlink", os.readlink(path), system]
        elif path.exists():
            argv += [*_parents(system, made), "--ro-bind", system, system]
    if tmp_bytes is not None:
        # Before the binds: a worker whose Python lives under /tmp (a checkout there) must
        # still find it, bound on top of the sandbox's own /tmp rather than hidden under it.
        argv += ["--perms", "1777", "--size", str(tmp_bytes), "--tmpfs", "/tmp"]  # noqa: S108
        made.add("/tmp")  # noqa: S108
    for host, inside in readable:
        argv += [*_parents(inside, made), "--ro-bind", str(host), inside]
    for host, inside in writable:
        argv += [*_parents(inside, made), "--bind", str(host), inside]
    return argv


def _parents(inside: str, made: set[str]) -> list[str]:
    """Folders above a bind, made world-traversable: bwrap would copy the host's modes, and a
    Python under ``/root`` (0700) could not be reached by the sandbox's user."""
    argv: list[str] = []
    for parent in reversed(Path(inside).parents[:-1]):
        if str(parent) not in made:
            made.add(str(parent))
            argv += ["--perms", "0755", "--dir", str(parent)]
    return argv


def python_dirs() -> list[Path]:
    """Where the worker's Python lives (its venv and the interpreter it was made from)."""
    dirs = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).resolve().parent.parent}
    return sorted(d for d in dirs if not d.is_relative_to("/usr"))


def sandbox_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of sandboxed code: nothing of the worker's."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:{_TOOL_PATH}",
        "HOME": "/tmp",  # noqa: S108 - the sandbox's own tmpfs
        "TMPDIR": "/tmp",  # noqa: S108
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PIP_NO_INPUT": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.update(extra or {})
    return env


@dataclass(frozen=True, slots=True)
class CodeSandbox:
    """Runs repository code under bubblewrap with :class:`Limits`. Made by :func:`code_sandbox`,
    which has checked that it works here."""

    bwrap: str
    prlimit: str
    setpriv: str
    # The outside user a root worker becomes before bwrap (None: the worker's own user).
    drop_to: int | None = SANDBOX_UID
    limits: Limits = field(default_factory=Limits)
    # The venv whose ``bin/python`` runs repository code (None: the worker's interpreter).
    runtime: Path | None = None
    # coreutils ``nice``: repository code runs at a lower priority than the worker, so a
    # command that writes or computes flat out cannot starve the watcher that enforces the
    # disk limit, nor the worker's other runs (None: same priority).
    nice: str | None = None

    @property
    def path(self) -> str:
        """The sandbox's ``PATH``: the test runtime's (or the worker's) Python first."""
        bin_dir = self.runtime / "bin" if self.runtime is not None else Path(sys.executable).parent
        return f"{bin_dir}:{_TOOL_PATH}"

    def command(
        self,
        argv: Sequence[str],
        *,
        repo: Path | None,
        deps: Path | None = None,
        deps_writable: bool = False,
        network: bool = False,
        limits: Limits | None = None,
        binds: Sequence[tuple[Path, str]] = (),
    ) -> list[str]:
        """``argv`` as the sandboxed command.

        A root worker: an outer bwrap (as root, which can reach every folder to bind) makes the
        namespaces and the file system view; inside it ``setpriv`` becomes :data:`SANDBOX_UID`
        for good, ``prlimit`` sets the limits, and an inner bwrap adds the user namespace
        (nobody inside and out, no capabilities, no further namespaces). An unprivileged
        worker: ``prlimit`` and one bwrap doing both."""
        lim = limits or self.limits
        lower = [self.nice, f"-n{NICENESS}"] if self.nice is not None else []
        writable = [(repo, REPO)] if repo is not None else []
        readable = [(p, str(p)) for p in python_dirs()]
        if self.runtime is not None and not any(
            self.runtime.is_relative_to(p) for p, _ in readable
        ):
            readable.append((self.runtime, str(self.runtime)))
        if deps is not None:
            (writable if deps_writable else readable).append((deps, DEPS))
        readable += list(binds)
        view = base_command(
            self.bwrap,
            uid=SANDBOX_UID,
            readable=readable,
            writable=writable,
            tmp_bytes=lim.tmp_bytes,
            network=network,
            user_namespace=self.drop_to is None,
        )
        view += ["--remount-ro", "/", "--chdir", REPO if repo is not None else "/tmp"]  # noqa: S108
        rlimits = [
            self.prlimit,
            f"--cpu={lim.cpu_seconds}",
            f"--as={lim.memory_bytes}",
            f"--nproc={lim.processes}",
            f"--nofile={lim.open_files}",
            f"--fsize={lim.file_bytes}",
            "--core=0",
            "--",
        ]
        if self.drop_to is None:
            return [*lower, *rlimits, *view, "--disable-userns", "--", *argv]
        uid = str(self.drop_to)
        drop = [self.setpriv, f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
        drop += ["--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        inner = [self.bwrap, "--unshare-user", "--disable-userns", "--uid", uid, "--gid", uid]
        # --dev-bind: a plain bind would add nodev, and /dev/null would not open.
        inner += ["--cap-drop", "ALL", "--dev-bind", "/", "/", "--chdir", view[-1], "--"]
        return [*lower, *view, "--", *drop, *rlimits, *inner, *argv]

    async def run(
        self,
        argv: Sequence[str],
        *,
        repo: Path | None,
        env: Mapping[str, str] | None = None,
        deps: Path | None = None,
        deps_writable: bool = False,
        network: bool = False,
        limits: Limits | None = None,
        binds: Sequence[tuple[Path, str]] = (),
    ) -> SandboxResult:
        """Run ``argv`` confined; its output and how it ended. Never raises for what the
        command does (a limit it hit is in the result); cancellation kills it. ``binds``:
        more (host, sandbox) paths, read-only (a wheel cache, the egress proxy's socket)."""
        lim = limits or self.limits
        command = self.command(
            argv,
            repo=repo,
            deps=deps,
            deps_writable=deps_writable,
            network=network,
            limits=lim,
            binds=binds,
        )
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd="/",
            env=sandbox_env({"PATH": self.path, **(env or {})}),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        watched = [p for p in (repo, deps if deps_writable else None) if p is not None]
        limit: str | None = None
        try:
            limit, output = await _supervise(process, lim, watched)
        finally:
            _kill(process)
            # Read what is left to the end: a paused pipe (its output was not wanted) would
            # never see the end of file, and wait() waits for the pipe as well as the process.
            with contextlib.suppress(Exception):
                await asyncio.shield(_drain(process))
        code = process.returncode if process.returncode is not None else -1
        limit = limit or _signal_limit(code)
        return SandboxResult(
            code, output.decode("utf-8", errors="replace"), limit, time.monotonic() - started
        )

    def own(self, path: Path) -> None:
        """Give ``path`` (a working copy, a dependency folder) to the sandbox's outside user,
        so sandboxed code can write there and nowhere else of the worker's."""
        if self.drop_to is None:
            return
        for root, dirs, files in os.walk(path):
            os.lchown(root, self.drop_to, self.drop_to)
            for name in [*dirs, *files]:
                os.lchown(os.path.join(root, name), self.drop_to, self.drop_to)


async def _supervise(
    process: asyncio.subprocess.Process, lim: Limits, watched: list[Path]
) -> tuple[str | None, bytes]:
    """Read its output and watch its disk use until it ends or passes a limit (whose name is
    returned, with the output kept)."""
    chunks: list[bytes] = []

    async def read() -> str | None:
        assert process.stdout is not None
        size = 0
        while chunk := await process.stdout.read(64 * 1024):
            chunks.append(chunk[: max(0, lim.output_bytes - size)])
            size += len(chunk)
            if size > lim.output_bytes:
                return "output_limit"
        await process.wait()
        return None

    async def watch_disk() -> str:
        baseline = await asyncio.to_thread(_usage, watched)
        filesystem_at_walk, walked_at = _filesystem_used(watched), time.monotonic()
        pause = DISK_POLL_SECONDS
        while True:
            # Polled (nothing notifies a folder's growth): often, as a command can write
            # hundreds of MB a second. Walking the folders costs per file, so it waits until
            # their filesystems (one statvfs each) grew by an eighth of the allowance since
            # the last walk, or a second passed (another process freeing space could hide
            # growth from that count); and never takes more than a fifth of the time.
            await asyncio.sleep(pause)
            grown = _filesystem_used(watched) - filesystem_at_walk
            if grown < lim.disk_bytes // 8 and time.monotonic() - walked_at < DISK_WALK_SECONDS:
                continue
            filesystem_at_walk, walked_at = _filesystem_used(watched), time.monotonic()
            if await asyncio.to_thread(_usage, watched) - baseline > lim.disk_bytes:
                return "disk_limit"
            pause = max(DISK_POLL_SECONDS, 4 * (time.monotonic() - walked_at))

    tasks = [asyncio.create_task(read())]
    if watched:
        tasks.append(asyncio.create_task(watch_disk()))
    try:
        async with asyncio.timeout(lim.wall_seconds):
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        return next(iter(done)).result(), b"".join(chunks)
    except TimeoutError:
        return "timeout", b"".join(chunks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _usage(paths: list[Path]) -> int:
    """Bytes allocated under ``paths`` (links not followed; vanished entries skipped)."""
    total = 0
    for base in paths:
        for root, _dirs, files in os.walk(base):
            for name in files:
                with contextlib.suppress(OSError):
                    total += os.lstat(os.path.join(root, name)).st_blocks * 512
    return total


def _filesystem_used(paths: list[Path]) -> int:
    """Bytes in use on the filesystems holding ``paths``: one system call each, whatever
    their number of files."""
    total = 0
    for base in paths:
        with contextlib.suppress(OSError):
            fs = os.statvfs(base)
            total += (fs.f_blocks - fs.f_bfree) * fs.f_frsize
    return total


async def _drain(process: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(30):
        if process.stdout is not None:
            while await process.stdout.read(1024 * 1024):
                pass
        await process.wait()


def _kill(process: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _signal_limit(code: int) -> str | None:
    """bwrap reports a child killed by a signal as 128 + the signal."""
    if code in (128 + signal.SIGXCPU, -signal.SIGXCPU):
        return "cpu_limit"
    if code in (128 + signal.SIGXFSZ, -signal.SIGXFSZ):
        return "file_size_limit"
    return None


def code_sandbox(limits: Limits | None = None, runtime: Path | None = None) -> CodeSandbox:
    """The sandbox for repository code, or :class:`SandboxUnavailable` saying why there is
    none here. There is no unconfined fallback. ``runtime``: the test runtime's venv (its
    ``bin/python`` must run pytest)."""
    return _code_sandbox(os.geteuid() == 0, limits or Limits(), runtime)


@lru_cache(maxsize=8)
def _code_sandbox(root: bool, limits: Limits, runtime: Path | None = None) -> CodeSandbox:
    bwrap = shutil.which("bwrap", path=_TOOL_PATH)
    prlimit = shutil.which("prlimit", path=_TOOL_PATH)
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap (bwrap) is not installed")
    setpriv = shutil.which("setpriv", path=_TOOL_PATH)
    if prlimit is None or setpriv is None:
        raise SandboxUnavailable("prlimit or setpriv (util-linux) is not installed")
    if runtime is not None and not (runtime / "bin" / "python").exists():
        raise SandboxUnavailable(f"the test runtime {runtime} has no bin/python")
    sandbox = CodeSandbox(
        bwrap,
        prlimit,
        setpriv,
        SANDBOX_UID if root else None,
        limits,
        runtime=runtime,
        nice=shutil.which("nice", path=_TOOL_PATH),
    )
    python = str(runtime / "bin" / "python") if runtime is not None else sys.executable
    probe = sandbox.command([python, "-I", "-c", "import pytest"], repo=None)
    try:
        result = subprocess.run(  # noqa: S603 - a fixed probe
            probe,
            capture_output=True,
            timeout=30,
            check=False,
            env=sandbox_env({"PATH": sandbox.path}),
            cwd="/",
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SandboxUnavailable(f"bwrap does not start ({exc})") from None
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip()[-300:]
        if "No module named 'pytest'" in reason:
            raise SandboxUnavailable(
                f"{python} has no pytest: set AGENTS_TEST_RUNTIME to the test runtime's venv "
                "(/opt/test-runtime in the worker image)"
            )
        raise SandboxUnavailable(f"bwrap cannot make a sandbox here ({reason})")
    return sandbox


def scratch_dir(parent: Path | None = None) -> Path:
    return Path(tempfile.mkdtemp(prefix="sandbox-", dir=parent))
