"""The server under test runs as it does under ``make up``: uvicorn in its own process, on a
free port, serving a build from a temporary directory."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from swe_common.testing import free_port

SECRET = "top-secret-outside-the-build"


@dataclass(frozen=True)
class Server:
    port: int
    dist: Path

    def get(self, raw_path: str, headers: dict[str, str] | None = None, method: str = "GET"):
        """The path goes on the wire exactly as given (no client-side dot-segment removal)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, raw_path, headers=headers or {})
            response = connection.getresponse()
            return (
                response.status,
                {k.lower(): v for k, v in response.getheaders()},
                response.read(),
            )
        finally:
            connection.close()


def start_server(dist: Path) -> tuple[subprocess.Popen[bytes], Server]:
    port = free_port()
    env = {**os.environ, "WEB_DIST_DIR": str(dist), "WEB_RELOAD_SECONDS": "0.1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "swe_web.main:create_app",
         "--port", str(port), "--no-access-log"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    server = Server(port, dist)
    deadline = time.monotonic() + 30
    while True:
        try:
            if server.get("/health/live")[0] == 200:
                return proc, server
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"swe_web did not start: {proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
        time.sleep(0.05)  # polling interval under the deadline above


def poll(probe, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.05)  # polling interval under the deadline above
