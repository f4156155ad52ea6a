"""The diff a review looked at, kept for people to read: files → hunks → lines.

``git diff`` of the reviewed range, with context lines, for the files the review selected,
parsed into a bounded document. Bounds, so that a huge pull request cannot bloat storage or a
response: at most ``max_files`` files listed, ``max_lines_per_file`` lines shown per file,
``max_total_lines`` and ``max_bytes`` for the whole document, ``max_line_chars`` per line; git's
own output is read up to ``max_raw_bytes``. What a bound cut is marked ``truncated`` (a file or
a line) or ``omitted`` (a file shown without its lines, and why: ``binary``, ``too_large``,
``limit``); binary files are listed, never shown.

Paths are data: they reach git after ``--``, its lists are read NUL-separated, and the names in
a patch's headers are read C-unquoted, so a name with a space, a quote or a newline stays one
name. The patch text is split on ``\\n`` only: a form feed or U+2028 inside a line of code is
part of that line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal, TypedDict, cast

from swe_agents.analysis.checkout import FileChange, Repository, unquote_path

Kind = Literal["context", "add", "delete"]
Omitted = Literal["binary", "too_large", "limit"]
STATUS = {"A": "added", "M": "modified", "R": "renamed", "D": "deleted", "T": "modified"}
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)$")
LINE_OVERHEAD = 48  # bytes a line costs in the stored JSON besides its text
SECTION_CHARS = 200
_KINDS: dict[str, Kind] = {" ": "context", "-": "delete", "+": "add"}


@dataclass(frozen=True, slots=True)
class DiffLimits:
    max_files: int = 300
    max_lines_per_file: int = 2_000
    max_total_lines: int = 20_000
    max_line_chars: int = 1_000
    max_bytes: int = 2 * 1024 * 1024
    max_raw_bytes: int = 16 * 1024 * 1024
    context: int = 3


@dataclass(slots=True)
class DiffLine:
    kind: Kind
    old: int | None
    new: int | None
    text: str
    truncated: bool = False


@dataclass(slots=True)
class DiffHunk:
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    section: str
    lines: list[DiffLine] = field(default_factory=list)


@dataclass(slots=True)
class DiffFile:
    path: str
    old_path: str | None = None
    status: str = "modified"
    binary: bool = False
    additions: int | None = None
    deletions: int | None = None
    truncated: bool = False
    omitted: Omitted | None = None
    hunks: list[DiffHunk] = field(default_factory=list)


@dataclass(slots=True)
class ReviewDiff:
    base: str
    head: str
    files: list[DiffFile]
    files_total: int
    truncated: bool
    limits: DiffLimits

    def to_dict(self) -> DiffDocument:
        return cast(DiffDocument, asdict(self))


# The diff as it is stored (``ReviewDiff.to_dict()``): the dataclasses above, field for field.


class DiffLimitsDict(TypedDict):
    max_files: int
    max_lines_per_file: int
    max_total_lines: int
    max_line_chars: int
    max_bytes: int
    max_raw_bytes: int
    context: int


class DiffLineDict(TypedDict):
    kind: Kind
    old: int | None
    new: int | None
    text: str
    truncated: bool


class DiffHunkDict(TypedDict):
    old_start: int
    old_lines: int
    new_start: int
    new_lines: int
    section: str
    lines: list[DiffLineDict]


class DiffFileDict(TypedDict):
    path: str
    old_path: str | None
    status: str
    binary: bool
    additions: int | None
    deletions: int | None
    truncated: bool
    omitted: Omitted | None
    hunks: list[DiffHunkDict]


class DiffDocument(TypedDict):
    base: str
    head: str
    files: list[DiffFileDict]
    files_total: int
    truncated: bool
    limits: DiffLimitsDict


# -- reading git's output ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NumStat:
    path: str
    old_path: str | None
    additions: int | None  # None: binary
    deletions: int | None


def parse_numstat(text: str) -> list[NumStat]:
    """``git diff --numstat -z``: ``added\\tdeleted\\tpath\\0``, or for a rename
    ``added\\tdeleted\\t\\0old\\0new\\0``; ``-`` counts for a binary file."""
    out: list[NumStat] = []
    fields = iter(text.split("\0"))
    for record in fields:
        if not record:
            continue
        added, deleted, path = record.split("\t", 2)
        old: str | None = None
        if not path:  # a rename: the two names follow
            old, path = next(fields, ""), next(fields, "")
        binary = added == "-" or deleted == "-"
        out.append(
            NumStat(
                path,
                old,
                None if binary else int(added),
                None if binary else int(deleted),
            )
        )
    return out


def _header_name(text: str) -> str | None:
    """The name in a ``---``/``+++`` line (without its a/ or b/), None for /dev/null."""
    # git ends a name holding a space with a tab (as GNU diff does): not part of it.
    name = unquote_path(text.removesuffix("\t"))
    if name == "/dev/null" or len(name) < 2:
        return None
    return name[2:]


def _git_line_name(rest: str) -> str | None:
    """The name in ``diff --git a/<name> b/<name>`` when both sides are the same name (a mode
    change has no other header that names the file)."""
    if rest.startswith('"'):
        end = rest.find('" ', 1)
        while end != -1 and rest[end - 1] == "\\":
            end = rest.find('" ', end + 1)
        return _header_name(rest[: end + 1]) if end != -1 else None
    half = (len(rest) - 1) // 2
    left, right = rest[:half], rest[half + 1 :]
    if left.startswith("a/") and right.startswith("b/") and left[2:] == right[2:]:
        return left[2:]
    return None


@dataclass(slots=True)
class _Parsed:
    """One file as the patch shows it, before the limits apply."""

    path: str | None = None
    old_path: str | None = None
    binary: bool = False
    complete: bool = True
    hunks: list[DiffHunk] = field(default_factory=list)


def parse_patch(text: str, cut: bool = False) -> list[_Parsed]:
    """Files of a ``git diff`` patch with every line (``cut``: the text ends mid-way, so its
    last file is incomplete)."""
    files: list[_Parsed] = []
    current: _Parsed | None = None
    hunk: DiffHunk | None = None
    old_left = new_left = 0
    old_no = new_no = 0
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for raw in lines:
        if hunk is not None and (old_left > 0 or new_left > 0):
            marker, body = raw[:1], raw[1:]
            if marker in (" ", "-"):
                new = new_no if marker == " " else None
                hunk.lines.append(DiffLine(_KINDS[marker], old_no, new, body))
                old_no, old_left = old_no + 1, old_left - 1
                if marker == " ":
                    new_no, new_left = new_no + 1, new_left - 1
                continue
            if marker == "+":
                hunk.lines.append(DiffLine("add", None, new_no, body))
                new_no, new_left = new_no + 1, new_left - 1
                continue
            if marker == "\\":  # "\ No newline at end of file"
                continue
            hunk = None  # not a hunk line: the hunk's counts were wrong; read on as headers
        if raw.startswith("diff --git "):
            current = _Parsed(path=_git_line_name(raw[len("diff --git ") :]))
            files.append(current)
            hunk = None
            continue
        if current is None or raw.startswith("\\"):
            continue
        match = _HUNK.match(raw)
        if match:
            old_no, new_no = int(match.group(1)), int(match.group(3))
            old_left = int(match.group(2) if match.group(2) is not None else 1)
            new_left = int(match.group(4) if match.group(4) is not None else 1)
            hunk = DiffHunk(old_no, old_left, new_no, new_left, match.group(5)[:SECTION_CHARS])
            current.hunks.append(hunk)
        elif current.hunks:
            continue  # nothing else follows hunks in a file
        elif raw.startswith("rename from "):
            current.old_path = unquote_path(raw[len("rename from ") :])
        elif raw.startswith("rename to "):
            current.path = unquote_path(raw[len("rename to ") :])
        elif raw.startswith("--- "):
            current.old_path = current.old_path or _header_name(raw[4:])
        elif raw.startswith("+++ "):
            current.path = _header_name(raw[4:]) or current.path
        elif raw.startswith("Binary files ") or raw == "GIT binary patch":
            current.binary = True
    if cut and files:
        files[-1].complete = False
    return files


# -- the bounded document -----------------------------------------------------------------------


@dataclass(slots=True)
class _Budget:
    limits: DiffLimits
    lines: int = 0
    bytes: int = 0

    def spent(self) -> bool:
        return self.lines >= self.limits.max_total_lines or self.bytes >= self.limits.max_bytes

    def take(self, line: DiffLine) -> bool:
        if self.spent():
            return False
        self.lines += 1
        self.bytes += LINE_OVERHEAD + len(line.text.encode("utf-8", "replace"))
        return True


def _shown(parsed: _Parsed, target: DiffFile, budget: _Budget) -> None:
    """Copy ``parsed``'s hunks into ``target`` within the per-file and whole-diff limits."""
    limits = budget.limits
    shown = 0
    for hunk in parsed.hunks:
        if shown >= limits.max_lines_per_file or budget.spent():
            target.truncated = True
            break
        kept = DiffHunk(
            hunk.old_start, hunk.old_lines, hunk.new_start, hunk.new_lines, hunk.section
        )
        for line in hunk.lines:
            clipped = _clipped(line, limits.max_line_chars)
            if shown >= limits.max_lines_per_file or not budget.take(clipped):
                target.truncated = True
                break
            kept.lines.append(clipped)
            shown += 1
        if kept.lines:
            target.hunks.append(kept)
        if target.truncated:
            break
    if not parsed.complete:
        target.truncated = True


def _clipped(line: DiffLine, chars: int) -> DiffLine:
    if len(line.text) <= chars:
        return line
    return DiffLine(line.kind, line.old, line.new, line.text[:chars], truncated=True)


def plan(changes: Iterable[FileChange], stats: list[NumStat], limits: DiffLimits) -> list[DiffFile]:
    """The files to list, in path order, with what the numbers say; ``omitted`` set for those
    whose lines will not be asked of git (binary, far over the per-file limit, past the
    whole-diff line limit)."""
    by_path = {s.path: s for s in stats}
    listed: list[DiffFile] = []
    lines = 0
    for change in sorted(changes, key=lambda c: c.path)[: limits.max_files]:
        stat = by_path.get(change.path)
        entry = DiffFile(
            path=change.path,
            old_path=change.old_path if change.status == "R" else None,
            status=STATUS.get(change.status, "modified"),
        )
        listed.append(entry)
        if stat is None:
            continue  # no textual change (a mode change): nothing to show
        entry.additions, entry.deletions = stat.additions, stat.deletions
        if stat.additions is None or stat.deletions is None:
            entry.binary, entry.omitted = True, "binary"
            continue
        changed = stat.additions + stat.deletions
        if changed > 4 * limits.max_lines_per_file:
            # Reading it would cost git's whole output budget for lines nobody is shown.
            entry.omitted, entry.truncated = "too_large", True
        elif lines >= limits.max_total_lines:
            entry.omitted, entry.truncated = "limit", True
        lines += min(changed, limits.max_lines_per_file)
    return listed


def assemble(
    listed: list[DiffFile], parsed: list[_Parsed], cut: bool, limits: DiffLimits
) -> list[DiffFile]:
    """Fill the planned files with the patch's lines, within the limits."""
    by_path = {p.path: p for p in parsed if p.path is not None}
    budget = _Budget(limits)
    for entry in listed:
        if entry.omitted is not None:
            continue
        found = by_path.get(entry.path)
        if found is None:
            if cut and entry.additions:  # git was stopped before it reached this file
                entry.omitted, entry.truncated = "limit", True
            continue
        if found.binary:
            entry.binary, entry.omitted = True, "binary"
            continue
        if budget.spent() and found.hunks:
            entry.omitted, entry.truncated = "limit", True
            continue
        _shown(found, entry, budget)
    return listed


async def capture(
    repo: Repository,
    base: str,
    head: str,
    changes: list[FileChange],
    limits: DiffLimits | None = None,
) -> ReviewDiff:
    """The bounded diff of ``changes`` from ``base`` to ``head``."""
    limits = limits or DiffLimits()
    wanted = sorted(changes, key=lambda c: c.path)[: limits.max_files]
    paths = _pathspec(wanted)
    stats = parse_numstat(await repo.numstat(base, head, paths)) if paths else []
    listed = plan(wanted, stats, limits)
    asked = _pathspec(c for c, entry in zip(wanted, listed, strict=True) if entry.omitted is None)
    text, cut = "", False
    if asked:
        text, cut = await repo.patch(
            base, head, asked, context=limits.context, max_bytes=limits.max_raw_bytes
        )
    files = assemble(listed, parse_patch(text, cut), cut, limits)
    truncated = cut or len(changes) > len(wanted) or any(f.truncated for f in files)
    return ReviewDiff(base, head, files, len(changes), truncated, limits)


def _pathspec(changes: Iterable[FileChange]) -> list[str]:
    """Each file's name and, for a rename, its old name (git pairs a rename only when it sees
    both sides)."""
    paths: list[str] = []
    for change in changes:
        paths.append(change.path)
        if change.old_path and change.old_path != change.path:
            paths.append(change.old_path)
    return paths
