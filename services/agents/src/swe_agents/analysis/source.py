"""Where a finding sits in the source, independent of formatting: the anchor its fingerprint
hashes and the qualified name of the scope around it.

For a Python file the anchor of a line is the *statement* that holds it, read from the AST:
``ast.dump`` without positions, so whitespace, line breaks, quotes, brackets and a trailing
comma (what a formatter changes) do not change it. A compound statement (``def``, ``class``,
``if``, ``for``, ``with``, ``try``...) is anchored on its header only (its body cleared), so a
finding on a ``def`` line keeps its identity when the body or the signature's layout changes.
Scopes are qualified names (``Outer.Inner.method``, ``func.<locals>.helper``), the way Python
names them.

A file that does not parse, or another language, falls back to the whitespace-normalised
physical line and no scope.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MAX_PARSE_BYTES = 2_000_000
_BODY_FIELDS = ("body", "orelse", "finalbody", "handlers", "cases")
_Scope = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef


@dataclass(frozen=True, slots=True)
class Anchor:
    """A formatting-independent description of one finding's place."""

    scope: str  # qualified name of the innermost function or class, "" at module level
    text: str  # the normalised statement (or line) the finding is on

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.scope}\x1f{self.text}".encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Statement:
    start: int
    header_end: int
    end: int
    node: ast.AST


@dataclass
class SourceFile:
    """One file's lines and, for Python that parses, its statements and scopes."""

    lines: list[str]
    statements: list[_Statement] = field(default_factory=list)
    scopes: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, qualname)
    definitions: dict[int, str] = field(default_factory=dict)  # def/class line -> qualname
    _holders: list[_Statement | None] | None = None
    _scope_names: list[str] | None = None
    _anchors: dict[int, str] = field(default_factory=dict)

    def physical(self, line: int) -> str:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return " ".join(text.split())

    def _innermost(self, spans: list[tuple[int, int, Any]]) -> list[Any]:
        """Per line, the innermost of ``spans`` (start, end, value) holding it: outer spans are
        written first and inner ones over them (cost: lines x nesting depth)."""
        size = max([len(self.lines), *(end for _, end, _ in spans)], default=0) + 2
        holders: list[Any] = [None] * size
        for start, end, value in sorted(spans, key=lambda s: (s[0], -s[1])):
            holders[start : end + 1] = [value] * (end + 1 - start)
        return holders

    def scope(self, line: int) -> str:
        """The qualified name of the innermost function or class holding ``line``."""
        if self._scope_names is None:
            self._scope_names = self._innermost(self.scopes)
        names = self._scope_names
        return (names[line] or "") if 0 <= line < len(names) else ""

    def statement(self, line: int) -> str:
        """The normalised statement (header, for a compound one) that holds ``line``."""
        if line not in self._anchors:
            self._anchors[line] = self._statement(line)
        return self._anchors[line]

    def _statement(self, line: int) -> str:
        if self._holders is None:
            self._holders = self._innermost([(s.start, s.end, s) for s in self.statements])
        holder = self._holders[line] if 0 <= line < len(self._holders) else None
        if holder is None or line > holder.header_end:
            # An ``else:``/``finally:`` line, a blank or a comment: only the line itself.
            return self.physical(line)
        return _header_dump(holder.node)

    def anchor(self, line: int, *, function: bool = False) -> Anchor:
        """``function``: the finding is about the function defined on ``line`` (complexity), so
        the function's qualified name alone identifies it."""
        if function and line in self.definitions:
            return Anchor(self.definitions[line], "def")
        return Anchor(self.scope(line), self.statement(line))


def _header_dump(node: ast.AST) -> str:
    header = copy.copy(node)
    for name in _BODY_FIELDS:
        if hasattr(header, name):
            setattr(header, name, [])
    return ast.dump(header, annotate_fields=True, include_attributes=False)


def _header_end(node: ast.AST) -> int:
    """The last line of a compound statement's header (the line before its body)."""
    line = int(getattr(node, "lineno", 1))
    body = getattr(node, "body", None)
    if isinstance(body, list) and body and isinstance(body[0], ast.AST):
        return max(line, int(getattr(body[0], "lineno", line + 1)) - 1)
    return int(getattr(node, "end_lineno", None) or line)


def _start(node: ast.AST) -> int:
    decorators = getattr(node, "decorator_list", [])
    return min([int(getattr(node, "lineno", 1)), *(int(d.lineno) for d in decorators)])


class _Indexer(ast.NodeVisitor):
    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self.names: list[str] = []

    def generic_visit(self, node: ast.AST) -> None:
        if isinstance(node, ast.stmt | ast.excepthandler | ast.match_case) and hasattr(
            node, "lineno"
        ):
            end = int(getattr(node, "end_lineno", None) or node.lineno)
            self.source.statements.append(_Statement(_start(node), _header_end(node), end, node))
        if isinstance(node, _Scope):
            self._scope(node)
            return
        super().generic_visit(node)

    def _scope(self, node: _Scope) -> None:
        qualname = ".".join([*self.names, node.name])
        end = int(node.end_lineno or node.lineno)
        self.source.scopes.append((_start(node), end, qualname))
        self.source.definitions[int(node.lineno)] = qualname
        inner = "<locals>" if not isinstance(node, ast.ClassDef) else None
        self.names += [node.name] + ([inner] if inner else [])
        for child in ast.iter_child_nodes(node):
            self.visit(child)
        del self.names[-(2 if inner else 1) :]


def load(root: Path, path: str) -> SourceFile:
    """The file's lines, indexed when it is Python that parses (blocking: call from a thread)."""
    file = root / path
    try:
        data = file.read_bytes() if file.stat().st_size <= MAX_PARSE_BYTES * 4 else b""
    except OSError:
        return SourceFile(lines=[])
    text = data.decode("utf-8", errors="replace")
    source = SourceFile(lines=text.splitlines())
    if path.endswith(".py") and len(data) <= MAX_PARSE_BYTES:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # SyntaxWarning on odd escapes: not ours to say
                tree = ast.parse(data, filename=path)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return source
        _Indexer(source).visit(tree)
    return source


class Sources:
    """A cache of :class:`SourceFile` s under one root (blocking reads: use from a thread)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._files: dict[str, SourceFile] = {}

    def __getitem__(self, path: str) -> SourceFile:
        if path not in self._files:
            self._files[path] = load(self.root, path)
        return self._files[path]
