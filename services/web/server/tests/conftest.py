"""Fixtures: a stand-in build beside a file no request may read, and servers on it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from web_support import SECRET, Server, start_server

from swe_web.testing import write_placeholder_build


@pytest.fixture(scope="session")
def site_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the build (``dist``) and, beside it, a file no request may read."""
    root = tmp_path_factory.mktemp("site")
    (root / "secret.txt").write_text(SECRET)
    write_placeholder_build(root / "dist")
    (root / "dist" / "robots.txt").write_text("User-agent: *\nDisallow:\n")
    (root / "dist" / "assets" / "leak.txt").symlink_to(root / "secret.txt")
    return root


@pytest.fixture(scope="session")
def server(site_root: Path) -> Iterator[Server]:
    proc, running = start_server(site_root / "dist")
    yield running
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[Server]:
    """A server of its own on an empty directory (tests that build while it runs)."""
    proc, running = start_server(tmp_path / "dist")
    yield running
    proc.terminate()
    proc.wait(timeout=20)
