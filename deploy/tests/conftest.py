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


# The OpenTelemetry Collector's components this platform's configs may name: those of the
# pinned otel/opentelemetry-collector-contrib image, by type (the part before "/").
COLLECTOR_COMPONENTS = {
    "receivers": {"otlp", "filelog"},
    "processors": {"batch", "memory_limiter"},
    "exporters": {"otlp", "otlphttp"},
    "extensions": {"health_check"},
}


def check_collector_config(config: dict[str, Any], exporters: dict[str, str]) -> None:
    """What the collector checks at start, offline: every component a pipeline or the service
    names is defined and of a known type, memory_limiter comes first, and each pipeline in
    ``exporters`` sends to that endpoint."""
    service = config["service"]
    for extension in service.get("extensions", []):
        assert extension in config.get("extensions", {}), f"extension {extension} undefined"
    for section, known in COLLECTOR_COMPONENTS.items():
        for name in config.get(section, {}):
            assert name.split("/")[0] in known, f"{section}: unknown component {name}"
    assert service["pipelines"], "no pipeline"
    for pipeline, spec in service["pipelines"].items():
        for section in ("receivers", "processors", "exporters"):
            for name in spec.get(section, []):
                assert name in config.get(section, {}), f"{pipeline}: {section} {name} undefined"
        assert spec["receivers"] and spec["exporters"], pipeline
        assert spec.get("processors", [None])[0] == "memory_limiter", pipeline
    for pipeline, endpoint in exporters.items():
        sent_to = {
            config["exporters"][e]["endpoint"] for e in service["pipelines"][pipeline]["exporters"]
        }
        assert sent_to == {endpoint}, f"{pipeline} goes to {sent_to}"
