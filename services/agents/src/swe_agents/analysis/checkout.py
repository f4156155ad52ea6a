"""Getting code out of a repository without running any of it.

A bare cache per repository (keyed by a hash of the clone URL) is fetched under a file lock, so
several workers share it safely. Trees are exported with ``git archive`` and unpacked with the
``data`` tar filter into a private temporary directory: no checkout, no hooks, no filters or
drivers from the repository's own configuration ever run. Only regular files and folders are
unpacked: a symbolic link (to ``/etc``, to a host file) never reaches the disk, so nothing that
reads the tree can be led out of it.

Repository paths are data: they reach git after ``--`` as literal pathspecs, and git's lists of
paths are read NUL-separated (or unquoted), so a name with a newline or a quote stays one name.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import io
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from swe_agents.analysis.tools import ToolError, clean_env, path_operands, run_tool
from swe_common.repo_urls import RepositoryRef, validate_repository_url

_SHA = re.compile(r"^[0-9a-f]{40}$")
_REF = re.compile(r"^(?!.*\.\.)(?!-)[A-Za-z0-9._/@+-]{1,200}$")
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class RepositoryUnreachable(RuntimeError):
    """The repository could not be validated, cloned or fetched, or a ref does not exist."""


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str  # A, M, D, R
    old_path: str | None
    added_lines: frozenset[int]


def validate_url(url: str, allowed_hosts: list[str], allow_file: bool) -> RepositoryRef:
    """The repository (clone and canonical URL), or ``RepositoryUnreachable`` (touches the disk
    for file://: use a thread)."""
    try:
        return validate_repository_url(url, allowed_hosts=allowed_hosts, allow_file=allow_file)
    except ValueError as exc:
        raise RepositoryUnreachable(f"repository URL refused: {exc}") from None


def validate_ref(ref: str) -> str:
    if not _REF.match(ref) or ref.endswith((".lock", "/")):
        raise ValueError(f"{ref!r} is not a valid git ref or commit")
    return ref


class Repository:
    """One repository's bare cache; every git call goes through :meth:`git`."""

    def __init__(
        self, cache_root: Path, clone_url: str, *, allow_file: bool, timeout: float
    ) -> None:
        key = hashlib.sha256(clone_url.encode()).hexdigest()[:24]
        self.clone_url = clone_url
        self.path = cache_root / f"{key}.git"
        self.lock_path = cache_root / f"{key}.lock"
        self.timeout = timeout
        self.env = clean_env(
            home=cache_root,
            extra={
                # Only the transports we mean; never ext::, ssh or plain http.
                "GIT_ALLOW_PROTOCOL": "https:file" if allow_file else "https",
                "GIT_CONFIG_GLOBAL": "/dev/null",
                # A file named "*" or ":(top)x" is a name, not a pattern, when passed as a path.
                "GIT_LITERAL_PATHSPECS": "1",
            },
        )

    async def git(self, *args: str, cwd: Path | None = None, check: bool = True) -> str:
        argv = ["git", "-c", "core.hooksPath=/dev/null", "-c", "core.quotePath=false", *args]
        result = await run_tool(argv, cwd=cwd or self.path, limit=self.timeout, env=self.env)
        if check and result.returncode != 0:
            raise ToolError(f"git {args[0]} failed: {result.stderr.strip()[:500]}")
        return result.stdout

    async def is_shallow(self) -> bool:
        return await asyncio.to_thread((self.path / "shallow").exists)

    async def fetch(self, shallow: bool = False) -> None:
        """Create or update the cache with every branch (and GitHub pull refs).

        ``shallow``: only the tips, when the cache is new or already shallow (a whole-tree
        analysis needs no history); a later full fetch deepens it (reviews need merge bases).
        """
        await asyncio.to_thread(self.path.parent.mkdir, parents=True, exist_ok=True)
        lock = await asyncio.to_thread(_lock, self.lock_path)
        try:
            new = not await asyncio.to_thread((self.path / "HEAD").exists)
            if new:
                await self.git("init", "--bare", "--quiet", str(self.path), cwd=self.path.parent)
            was_shallow = await self.is_shallow()
            depth: list[str] = []
            if shallow and (new or was_shallow):
                depth = ["--depth", "1"]
            elif was_shallow:
                depth = ["--unshallow"]
            await self.git(
                "fetch",
                "--quiet",
                "--prune",
                "--no-tags",
                "--force",
                *depth,
                "--",
                self.clone_url,
                "+refs/heads/*:refs/heads/*",
                "+refs/pull/*/head:refs/pull/*/head",
            )
        except ToolError as exc:
            raise RepositoryUnreachable(f"cannot fetch the repository: {exc}") from None
        finally:
            await asyncio.to_thread(_unlock, lock)

    async def resolve(self, ref: str) -> str:
        validate_ref(ref)
        candidates = [ref] if _SHA.match(ref) else [f"refs/heads/{ref}", ref]
        for candidate in candidates:
            out = await self.git(
                "rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", check=False
            )
            if out.strip():
                return out.strip()
        raise RepositoryUnreachable(f"ref {ref!r} does not exist in the repository")

    async def merge_base(self, base: str, head: str) -> str:
        out = await self.git("merge-base", base, head, check=False)
        if not out.strip():
            raise RepositoryUnreachable(f"{base} and {head} have no common history")
        return out.strip()

    async def is_ancestor(self, older: str, newer: str) -> bool:
        result = await run_tool(
            ["git", "merge-base", "--is-ancestor", older, newer],
            cwd=self.path,
            limit=self.timeout,
            env=self.env,
        )
        return result.returncode == 0

    async def export(self, commit: str, dest: Path, paths: list[str] | None = None) -> None:
        """Unpack ``commit``'s tree (or only ``paths`` of it) into ``dest``."""
        if paths is not None and not paths:
            return
        argv = ["git", "-c", "core.hooksPath=/dev/null", "archive", "--format=tar", commit]
        if paths is not None:
            argv += path_operands(paths)
        result = await run_tool(argv, cwd=self.path, limit=self.timeout, env=self.env)
        if result.returncode != 0:
            raise RepositoryUnreachable(
                f"cannot export {commit[:12]}: {result.stderr.strip()[:300]}"
            )
        await asyncio.to_thread(_untar, result.raw_stdout, dest)

    async def changes(self, base: str, head: str) -> list[FileChange]:
        """Files changed from ``base`` to ``head`` with the added/modified line numbers."""
        status = await self.git(
            "diff", "--no-ext-diff", "--no-textconv", "--name-status", "-z", "-M", base, head
        )
        patch = await self.git(
            "diff", "--no-ext-diff", "--no-textconv", "--no-color", "--unified=0", "-M", base, head
        )
        return parse_changes(status, patch)

    async def numstat(self, base: str, head: str, paths: list[str]) -> str:
        """``git diff --numstat -z`` of ``paths`` (added and deleted lines; ``-`` for binary)."""
        return await self.git(
            "diff", *_DIFF_OPTIONS, "--numstat", "-z", base, head, *path_operands(paths)
        )

    async def patch(
        self, base: str, head: str, paths: list[str], *, context: int, max_bytes: int
    ) -> tuple[str, bool]:
        """The patch of ``paths`` with ``context`` lines around each change, cut after
        ``max_bytes`` (True when it was cut: git is stopped there)."""
        argv = [
            "git",
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.quotePath=false",
            "diff",
            *_DIFF_OPTIONS,
            "--no-color",
            f"--unified={context}",
            "--src-prefix=a/",
            "--dst-prefix=b/",
            base,
            head,
            *path_operands(paths),
        ]
        result = await run_tool(
            argv, cwd=self.path, limit=self.timeout, env=self.env, max_stdout=max_bytes
        )
        if result.returncode != 0 and not result.truncated:
            raise ToolError(f"git diff failed: {result.stderr.strip()[:500]}")
        return result.stdout, result.truncated


# No external diff driver or text conversion from any configuration; renames detected.
_DIFF_OPTIONS = ("--no-ext-diff", "--no-textconv", "-M")


def parse_changes(status: str, patch: str) -> list[FileChange]:
    """``status``: ``git diff --name-status -z`` (status, path[, new path], NUL-separated);
    ``patch``: ``git diff --unified=0``."""
    added = _added_lines(patch)
    changes = []
    fields = iter(status.split("\0"))
    for code in fields:
        if not code:
            continue
        old: str | None = next(fields)
        new = next(fields) if code[0] in "RC" else old
        if code[0] == "A":
            old = None
        changes.append(FileChange(new or "", code[0], old, frozenset(added.get(new or "", set()))))
    return sorted(changes, key=lambda c: c.path)


_C_ESCAPES = {"a": 7, "b": 8, "t": 9, "n": 10, "v": 11, "f": 12, "r": 13, '"': 34, "\\": 92}


def unquote_path(text: str) -> str:
    """A path as git prints it in a patch header: C-quoted when it holds a control character,
    a quote or a backslash (``"b/new\\nline.py"``); as it is otherwise."""
    if not (text.startswith('"') and text.endswith('"') and len(text) >= 2):
        return text
    body, out, i = text[1:-1], bytearray(), 0
    while i < len(body):
        char = body[i]
        if char == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt in "01234567":
                out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
                i += 4
                continue
            out += bytes([_C_ESCAPES[nxt]]) if nxt in _C_ESCAPES else nxt.encode()
            i += 2
            continue
        out += char.encode()
        i += 1
    return out.decode("utf-8", errors="replace")


def _added_lines(patch: str) -> dict[str, set[int]]:
    result: dict[str, set[int]] = {}
    current: set[int] | None = None
    for line in patch.splitlines():
        if line.startswith("+++ "):
            # git ends a name holding a space with a tab (as GNU diff does): not part of it.
            target = unquote_path(line[4:].removesuffix("\t"))
            current = result.setdefault(target[2:], set()) if target.startswith("b/") else None
        elif line.startswith("@@") and current is not None:
            match = _HUNK.match(line)
            if match:
                start, length = int(match.group(1)), int(match.group(2) or "1")
                current.update(range(start, start + length))
    return result


def _lock(path: Path) -> io.TextIOWrapper:
    handle = path.open("a")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def _unlock(handle: io.TextIOWrapper) -> None:
    fcntl.flock(handle, fcntl.LOCK_UN)
    handle.close()


def _files_and_folders(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo | None:
    """Regular files and folders only (through the ``data`` filter); symbolic and hard links,
    devices and fifos are left out: a link could lead a reader, or a tool, out of the tree."""
    if not (member.isreg() or member.isdir()):
        return None
    return tarfile.data_filter(member, dest)


def _untar(data: bytes, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        archive.extractall(dest, filter=_files_and_folders)  # noqa: S202 - filtered above


def seal(root: Path) -> None:
    """Make a tree read-only for its owner, the worker (files 0400, folders 0500), before
    tools read it: a tool of the worker's own uid cannot change the checkout either. Blocking:
    call from a thread."""
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):  # none are unpacked; a link's mode means nothing
                os.chmod(path, 0o400)
        os.chmod(folder, 0o500)


def remove_tree(path: Path) -> None:
    """Remove a run's folder, sealed parts included (an entry of a read-only folder can be
    unlinked once the folder is writable again). Blocking: call from a thread."""

    def writable_then_retry(func: Any, failed: str, _exc: Any) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(failed), 0o700)
            func(failed)

    shutil.rmtree(path, onerror=writable_then_retry)


@asynccontextmanager
async def workspace(root: Path | None = None) -> AsyncIterator[Path]:
    """A private (0700) temporary directory, removed afterwards whatever happens."""
    path = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="swe-run-", dir=root))
    try:
        yield path
    finally:
        # Shielded: a second cancellation must not abandon the removal half-way.
        await asyncio.shield(asyncio.to_thread(remove_tree, path))


def worker_root(work_dir: Path, pid: int) -> Path:
    """This worker's folder for run workspaces, after removing those of dead workers
    (a killed worker cannot clean up; its pid is gone). Blocking: call from a thread."""
    work_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    for entry in work_dir.iterdir():
        if entry.name.isdigit() and int(entry.name) != pid and not _pid_alive(int(entry.name)):
            remove_tree(entry)
    own = work_dir / str(pid)
    own.mkdir(exist_ok=True, mode=0o700)
    return own


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
