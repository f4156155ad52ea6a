#!/usr/local/bin/python3
"""Container health check for the platform's images (stdlib only; runs as HEALTHCHECK).

Services: GET http://127.0.0.1:<port><path> must answer 2xx within 2 s; the port is
SWE_HEALTHCHECK_PORT, else UVICORN_PORT; the path SWE_HEALTHCHECK_PATH (default /health/ready).
Readiness, not liveness: compose starts a dependant only once this passes.

Worker (``--worker``): the worker has no HTTP port. When SWE_HEALTHCHECK_HEARTBEAT_FILE is set
the file must have been touched within SWE_HEALTHCHECK_HEARTBEAT_MAX_AGE seconds (default 60);
otherwise the broker named by AGENTS_AMQP_URL / SWE_AMQP_URL must accept a TCP connection,
since a worker that cannot reach its queue does no work.
"""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def check_http() -> str | None:
    port = os.environ.get("SWE_HEALTHCHECK_PORT") or os.environ.get("UVICORN_PORT", "8000")
    path = os.environ.get("SWE_HEALTHCHECK_PATH", "/health/ready")
    url = f"http://127.0.0.1:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            if 200 <= response.status < 300:
                return None
            return f"{url} answered {response.status}"
    except (urllib.error.URLError, OSError) as exc:
        return f"{url}: {exc}"


def check_worker() -> str | None:
    heartbeat = os.environ.get("SWE_HEALTHCHECK_HEARTBEAT_FILE")
    if heartbeat:
        max_age = float(os.environ.get("SWE_HEALTHCHECK_HEARTBEAT_MAX_AGE", "60"))
        try:
            age = time.time() - os.stat(heartbeat).st_mtime
        except OSError as exc:
            return f"no heartbeat file: {exc}"
        return None if age <= max_age else f"heartbeat is {age:.0f}s old"
    amqp = os.environ.get("AGENTS_AMQP_URL") or os.environ.get(
        "SWE_AMQP_URL", "amqp://127.0.0.1:5672/"
    )
    parsed = urllib.parse.urlsplit(amqp)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 5672
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as exc:
        return f"broker {host}:{port} unreachable: {exc}"


def main(argv: list[str]) -> int:
    problem = check_worker() if "--worker" in argv else check_http()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
