"""Source lines around findings, read from a run's working copy while it exists.

A user reading a finding wants the code it points at; the working copy is gone once the run
ends, and the repository may have moved on, so the lines are kept with the run (the
``run_sources`` table), within limits: five lines either side of each finding (at most
``MAX_SPAN`` lines of the finding itself), overlapping windows of a file merged into one,
lines cut at ``MAX_LINE_CHARS`` characters, files above ``MAX_FILE_BYTES`` or holding NUL
bytes skipped, at most ``MAX_WINDOWS`` windows and ``MAX_TOTAL_CHARS`` characters per run.

The content is the repository's (untrusted): it is stored and served as text, never markup.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

CONTEXT = 5
MAX_SPAN = 20
MAX_LINE_CHARS = 400
MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_WINDOWS = 2_000
MAX_TOTAL_CHARS = 4_000_000
# The line breaks the analysis tools count by (str.splitlines would also split on \f, \x1c...).
_BREAKS = re.compile(r"\r\n|\r|\n")


@dataclass
class Window:
    path: str
    start_line: int
    end_line: int
    lines: list[str]
    truncated: list[int] = field(default_factory=list)  # numbers of the lines that were cut


def _ranges(findings: Iterable[Mapping[str, object]]) -> dict[str, list[tuple[int, int]]]:
    by_path: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for finding in findings:
        path, line = finding.get("path"), finding.get("line")
        if not isinstance(path, str) or not path or not isinstance(line, int) or line < 1:
            continue
        end = finding.get("end_line")
        last = min(end if isinstance(end, int) and end >= line else line, line + MAX_SPAN)
        by_path[path].append((max(1, line - CONTEXT), last + CONTEXT))
    return by_path


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _read_lines(root: Path, path: str) -> list[str] | None:
    """The file's lines, or None when it is not a plain readable text file inside ``root``."""
    candidate = root / path
    try:
        if candidate.is_symlink() or not candidate.is_file():
            return None
        if not candidate.resolve().is_relative_to(root.resolve()):
            return None
        if candidate.stat().st_size > MAX_FILE_BYTES:
            return None
        data = candidate.read_bytes()
    except (OSError, ValueError):
        return None
    if b"\0" in data:
        return None
    text = data.decode("utf-8", errors="replace")
    lines = _BREAKS.split(text)
    if lines and lines[-1] == "":
        lines.pop()  # the last line's newline ends it; it does not start another
    return lines


def capture(root: Path, findings: Iterable[Mapping[str, object]]) -> list[Window]:
    """The windows of source lines around ``findings`` (dicts with path, line, end_line)."""
    windows: list[Window] = []
    total = 0
    for path, ranges in sorted(_ranges(findings).items()):
        lines = _read_lines(root, path)
        if lines is None:
            continue
        for start, end in _merged(ranges):
            end = min(end, len(lines))
            if start > end:
                continue
            window = Window(path=path, start_line=start, end_line=end, lines=[])
            for number in range(start, end + 1):
                text = lines[number - 1]
                if len(text) > MAX_LINE_CHARS:
                    text = text[:MAX_LINE_CHARS]
                    window.truncated.append(number)
                window.lines.append(text)
            size = sum(len(text) for text in window.lines)
            if len(windows) >= MAX_WINDOWS or total + size > MAX_TOTAL_CHARS:
                return windows
            windows.append(window)
            total += size
    return windows
