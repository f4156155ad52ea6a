"""A compact skeleton of a repository for localization: its Python files, and per file its
classes, functions and methods with their signatures and line numbers."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Element:
    path: str
    name: str  # qualified: Class.method
    signature: str
    start: int
    end: int


def elements(path: str, text: str) -> list[Element]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return []
    found: list[Element] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                name = f"{prefix}{child.name}"
                bases = ", ".join(ast.unparse(b) for b in child.bases)
                sig = f"class {child.name}({bases})" if bases else f"class {child.name}"
                found.append(Element(path, name, sig, child.lineno, child.end_lineno or 0))
                visit(child, f"{name}.")
            elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                sig = f"def {child.name}({ast.unparse(child.args)})"
                if child.returns is not None:
                    sig += f" -> {ast.unparse(child.returns)}"
                found.append(Element(path, name, sig, child.lineno, child.end_lineno or 0))

    visit(tree, "")
    return found


def file_skeleton(path: str, text: str) -> str:
    lines = [f"{path}"]
    for element in elements(path, text):
        depth = element.name.count(".")
        lines.append(
            f"{'    ' * (depth + 1)}{element.signature}  # lines {element.start}-{element.end}"
        )
    return "\n".join(lines)


def repository_skeleton(root: Path, files: list[str], limit: int = 40_000) -> str:
    """Every file's skeleton, within ``limit`` characters (past it, only the file names)."""
    parts: list[str] = []
    size = 0
    for rel in files:
        text = (root / rel).read_text(encoding="utf-8", errors="replace")
        part = file_skeleton(rel, text)
        if size + len(part) > limit:
            part = rel
        parts.append(part)
        size += len(part)
    return "\n".join(parts)


def numbered(text: str, start: int, end: int) -> str:
    lines = text.splitlines()
    start, end = max(1, start), min(len(lines), end)
    return "\n".join(f"{n:>5} {lines[n - 1]}" for n in range(start, end + 1))
