"""``make up`` rebuilds the web console only when its build is missing or older than its
sources, and installs its packages only when they are missing or older than the lock file."""

from __future__ import annotations

import os
from pathlib import Path

from swe_common.stack import npm_steps

CI = ["npm", "ci", "--no-audit", "--no-fund"]
BUILD = ["npm", "run", "build"]


def _touch(path: Path, when: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    os.utime(path, (when, when))


def console(tmp_path: Path, *, installed: float | None, built: float | None) -> Path:
    """An app directory whose sources and lock file were written at t=100."""
    for name in ("package.json", "package-lock.json", "index.html", "src/main.tsx"):
        _touch(tmp_path / name, 100)
    _touch(tmp_path / "vite.config.ts", 100)
    if installed is not None:
        _touch(tmp_path / "node_modules" / ".package-lock.json", installed)
    if built is not None:
        _touch(tmp_path / "dist" / "index.html", built)
    return tmp_path


def test_a_fresh_checkout_installs_and_builds(tmp_path: Path):
    assert npm_steps(console(tmp_path, installed=None, built=None)) == [CI, BUILD]


def test_nothing_runs_when_the_build_is_newer_than_every_source(tmp_path: Path):
    assert npm_steps(console(tmp_path, installed=200, built=300)) == []


def test_an_edited_source_file_rebuilds_without_reinstalling(tmp_path: Path):
    app = console(tmp_path, installed=200, built=300)
    _touch(app / "src" / "routes" / "projects.tsx", 400)
    assert npm_steps(app) == [BUILD]


def test_an_edited_vite_config_rebuilds(tmp_path: Path):
    app = console(tmp_path, installed=200, built=300)
    _touch(app / "vite.config.ts", 400)
    assert npm_steps(app) == [BUILD]


def test_a_newer_lock_file_reinstalls_and_rebuilds(tmp_path: Path):
    app = console(tmp_path, installed=200, built=300)
    _touch(app / "package-lock.json", 250)
    assert npm_steps(app) == [CI, BUILD]


def test_a_missing_build_is_built(tmp_path: Path):
    assert npm_steps(console(tmp_path, installed=200, built=None)) == [BUILD]
