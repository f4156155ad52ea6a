"""Shared helpers for the deployment checks: the repository layout and the external tools.

A missing tool fails its test (never skips) and says how to get it: deploy/install-tools.sh.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = ROOT / "k8s"
OBSERVABILITY = DEPLOY / "observability"
INSTALL_HINT = "run `bash deploy/install-tools.sh` (Debian's prometheus/docker-compose, uv sync)"


@dataclass(frozen=True)
class ServiceInfo:
    name: str
    port: int
    migrations: bool

    @property
    def directory(self) -> Path:
        return ROOT / "services" / self.name


def discover_services() -> list[ServiceInfo]:
    found = []
    for path in sorted((ROOT / "services").glob("*/service.toml")):
        spec = tomllib.loads(path.read_text())
        ports = [int(p["port"]) for p in spec.get("process", []) if "port" in p]
        found.append(ServiceInfo(spec["name"], ports[0], bool(spec.get("migrations"))))
    return found


SERVICES = discover_services()
DB_SERVICES = [s for s in SERVICES if s.migrations]


def tool(name: str) -> str:
    """The tool's path: the workspace venv's bin first (PyPI tools), then PATH (Debian's)."""
    venv_bin = Path(sys.executable).parent
    candidate = venv_bin / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed: {INSTALL_HINT}")
    return found


def run(argv: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None, **kw):
    return subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **kw,
    )


def load_yaml_documents(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


@pytest.fixture(scope="session")
def services() -> list[ServiceInfo]:
    assert SERVICES, "no services/*/service.toml found"
    return SERVICES
