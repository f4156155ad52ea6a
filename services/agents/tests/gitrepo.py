"""Real git repositories for tests, made with the git CLI, with defects planted on known lines."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

GIT_ENV = {
    "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    "HOME": "/nonexistent",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
}

# Line numbers below are what the tests assert on.
DEFECTS_PY = """import os
import subprocess

PASSWORD = "hunter2-very-secret"


def evaluate(expr):
    try:
        return eval(expr)
    except:
        pass


def run(cmd):
    return subprocess.call(cmd, shell=True)


def branchy(a, b, c, d, e):
    total = 0
    if a:
        if b:
            total += 1
        elif c:
            total += 2
        elif d:
            total += 3
    for i in range(a):
        if i and b or c:
            continue
        while d:
            d -= 1
            if e:
                break
    if e and a:
        total += 4
    return total if a else 5 if b else 6
"""
LINE_UNUSED_IMPORT = 1
LINE_PASSWORD = 4
LINE_EVAL = 9
LINE_BARE_EXCEPT = 10
LINE_SHELL = 15
LINE_BRANCHY = 18

CLEAN_PY = '''"""A tidy module."""


def add(a: int, b: int) -> int:
    return a + b
'''


def git(repo: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", *args],
        cwd=repo,
        env=GIT_ENV,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return result.stdout.strip()


def make_repo(path: Path, files: dict[str, str], branch: str = "main") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "--quiet", "--initial-branch", branch)
    commit(path, files, "initial")
    return path


def commit(repo: Path, files: Mapping[str, str | None], message: str) -> str:
    for name, content in files.items():
        target = repo / name
        if content is None:
            git(repo, "rm", "--quiet", name)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        git(repo, "add", name)
    git(repo, "commit", "--quiet", "-m", message)
    return git(repo, "rev-parse", "HEAD")


BRANCHY_JS = """function simple(a) {
  return a + 1;
}

function branchy(a, b, c) {
  if (a) { if (b) { return 1; } else if (c) { return 2; } }
  for (let i = 0; i < a; i++) { if ((i && b) || c) { continue; } while (c) { c--; } }
  switch (a) { case 1: return 3; case 2: return 4; case 3: return 5; case 4: return 6; }
  return 0;
}
"""
LINE_BRANCHY_JS = 5


def planted_repo(path: Path) -> Path:
    return make_repo(
        path,
        {
            "app/defects.py": DEFECTS_PY,
            "app/clean.py": CLEAN_PY,
            "web/branchy.js": BRANCHY_JS,
            "README.md": "# demo\n",
        },
    )


# The model's answers for a whole issue_resolver run on the planted repository (issue: "Add
# subtraction", app/clean.py needs sub()): localization, four samples agreeing on one edit
# (which adds an eval, for the findings on changed lines), then a reproduction test.
RESOLVER_EDIT = """### app/clean.py
<<<<<<< SEARCH
def add(a: int, b: int) -> int:
    return a + b
=======
def add(a: int, b: int) -> int:
    return a + b


def sub(a: int, b: int) -> int:
    return eval(f"{a} - {b}")
>>>>>>> REPLACE
"""
RESOLVER_SCRIPT = [
    "```\napp/clean.py\n```",
    "```\napp/clean.py::add\n```",
    "```\napp/clean.py:4-5\n```",
    *[RESOLVER_EDIT] * 4,
    "```python\nfrom app.clean import sub\n\n\ndef test_sub():\n    assert sub(5, 3) == 2\n```",
]
