#!/usr/local/bin/python3
"""The images' entrypoint: runs one process of the service the way `make up` does, from the
same description, the service's ``service.toml`` (copied to /app/service.toml; stdlib only).

``swe-serve`` runs the first process (the HTTP API); ``swe-serve <name>`` the one named so
(``agents-worker``). An ``app =`` process runs under uvicorn (host and port from
``UVICORN_HOST`` / ``UVICORN_PORT``, set by the image; no access log, the service logs each
request itself; 20 s to finish in-flight requests on SIGTERM; the services' HTTP protocol,
``swe_common.http_server``); a ``module =`` process runs as
``python -m <module>`` (the gateway, which applies its own uvicorn settings, and the worker).
The process replaces this one (exec), so SIGTERM from tini reaches it directly.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

SERVICE_TOML = Path(os.environ.get("SWE_SERVICE_TOML", "/app/service.toml"))


def command(spec: dict, name: str | None = None) -> list[str]:
    """The argv of the process ``name`` (default: the first) of a parsed service.toml."""
    processes = spec.get("process", [])
    chosen = next((p for p in processes if name in (None, p["name"])), None)
    if chosen is None:
        known = ", ".join(p["name"] for p in processes)
        raise SystemExit(f"{spec.get('name')}: no process {name!r} in service.toml ({known})")
    if "app" in chosen:
        return [
            "uvicorn", "--factory", chosen["app"],
            "--no-access-log", "--timeout-graceful-shutdown", "20",
            "--http", "swe_common.http_server:ServiceHttpProtocol",
        ]  # fmt: skip
    if "module" in chosen:
        return ["python", "-m", chosen["module"]]
    raise SystemExit(f"{chosen['name']}: service.toml names neither app nor module")


def main() -> None:
    spec = tomllib.loads(SERVICE_TOML.read_text())
    argv = command(spec, sys.argv[1] if len(sys.argv) > 1 else None)
    os.execvp(argv[0], argv)  # noqa: S606 - argv from service.toml, no shell


if __name__ == "__main__":
    main()
