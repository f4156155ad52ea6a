"""Candidate patches in the strict search/replace format, applied exactly.

A model's answer holds blocks::

    ### path/to/file.py
    <<<<<<< SEARCH
    lines exactly as they are in the file
    =======
    the lines that replace them
    >>>>>>> REPLACE

A block applies only when its SEARCH text occurs exactly once in the file (an empty SEARCH
creates a new file); a candidate with any block that does not apply is discarded whole.
Candidates are normalised (Python by its syntax tree, so formatting and comments do not make
two fixes different) and de-duplicated, counting how many samples agreed on each.
"""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath

BLOCK = re.compile(
    r"^###\s*(?P<path>[^\n]+?)\s*\n+<<<<<<< SEARCH\n(?P<search>.*?)^=======\n"
    r"(?P<replace>.*?)^>>>>>>> REPLACE\s*$",
    re.DOTALL | re.MULTILINE,
)
MAX_FILE_BYTES = 1024 * 1024


class EditRejected(ValueError):
    """A block that cannot be applied exactly."""


@dataclass(frozen=True, slots=True)
class Edit:
    path: str
    search: str
    replace: str


@dataclass
class Candidate:
    files: dict[str, str]  # path -> its whole new text
    diff: str
    key: str
    samples: list[int] = field(default_factory=list)

    @property
    def agreement(self) -> int:
        return len(self.samples)


def parse_edits(answer: str) -> list[Edit]:
    return [
        Edit(_safe_path(m["path"].strip().strip("`")), m["search"], m["replace"])
        for m in BLOCK.finditer(answer)
    ]


def _safe_path(path: str) -> str:
    pure = PurePosixPath(path.removeprefix("./"))
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or pure.parts[0] == ".git":
        raise EditRejected(f"edit outside the repository: {path!r}")
    return str(pure)


def apply_edits(edits: list[Edit], read: dict[str, str | None]) -> dict[str, str]:
    """The new text of every file ``edits`` touch; ``read`` maps a path to its current text
    (None when it does not exist). Raises :class:`EditRejected` unless every block applies
    exactly once."""
    if not edits:
        raise EditRejected("the answer holds no search/replace block")
    files: dict[str, str] = {}
    for edit in edits:
        text = files.get(edit.path, read.get(edit.path))
        if text is None:
            if edit.search.strip():
                raise EditRejected(f"{edit.path} does not exist")
            files[edit.path] = edit.replace
            continue
        count = text.count(edit.search) if edit.search else 0
        if count != 1:
            raise EditRejected(
                f"the SEARCH text occurs {count} times in {edit.path}; it must occur once"
            )
        files[edit.path] = text.replace(edit.search, edit.replace, 1)
    return files


def normalised(path: str, text: str) -> str:
    if path.endswith(".py"):
        try:
            return ast.unparse(ast.parse(text))
        except (SyntaxError, ValueError):
            pass
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def unified_diff(path: str, old: str | None, new: str) -> str:
    lines = difflib.unified_diff(
        (old or "").splitlines(keepends=True),
        new.splitlines(keepends=True),
        fromfile=f"a/{path}" if old is not None else "/dev/null",
        tofile=f"b/{path}",
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def candidate(files: dict[str, str], read: dict[str, str | None], sample: int) -> Candidate | None:
    """A candidate from the new files, or None when it changes nothing."""
    changed = {p: t for p, t in sorted(files.items()) if read.get(p) != t}
    if not changed:
        return None
    diff = "".join(unified_diff(p, read.get(p), t) for p, t in changed.items())
    key = "\0".join(f"{p}\0{normalised(p, t)}" for p, t in changed.items())
    if all(normalised(p, t) == normalised(p, read.get(p) or "") for p, t in changed.items()):
        return None  # only formatting or comments changed
    return Candidate(changed, diff, key, [sample])


def merge(candidates: list[Candidate], new: Candidate) -> None:
    """Add ``new``, or count its sample for the same normalised candidate."""
    for existing in candidates:
        if existing.key == new.key:
            existing.samples += new.samples
            return
    candidates.append(new)
