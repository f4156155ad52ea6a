"""The only way out of the sandbox: a forward proxy to the configured package index.

Repository code runs with no network (its own network namespace: only a loopback interface,
no route, no DNS). The dependency install step needs the package index, and nothing else, so:

* the worker serves :class:`EgressProxy` on a Unix socket in a private folder;
* that folder is bound into the sandbox (``/run/egress``), and the install command runs under
  :data:`BRIDGE`, a few lines of Python that listen on ``127.0.0.1:PORT`` inside the sandbox's
  own loopback and carry each connection to the socket, then run pip with ``--proxy`` set to
  that port;
* the proxy opens a connection only to an allowed ``host:port`` (the index's, and the hosts
  the operator names for its files), for ``CONNECT`` (https) and absolute-form plain HTTP
  requests; anything else is answered ``403`` and recorded in :attr:`EgressProxy.denied`.

What is enforced: the sandboxed process has no other network path (no interface but loopback,
whatever it does), and the proxy decides by the host name asked for, resolved by the worker.
What is not: the content fetched from an allowed host (pip checks the hashes a requirements
file pins; nothing else does), and a host that is allowed can serve anything it likes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

import structlog

log = structlog.stdlib.get_logger(__name__)

SOCKET_NAME = "proxy.sock"
INSIDE = "/run/egress"  # where the socket's folder is bound in the sandbox
PORT = 3128  # the bridge's port on the sandbox's own loopback
_HEADER_LIMIT = 64 * 1024

# Run by the sandbox's Python (-I): argv = [socket, port, pip arguments...]. Carries each
# connection to 127.0.0.1:port over to the Unix socket, then runs pip in this process.
BRIDGE = """
import runpy, socket, sys, threading

path, port, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", port))
server.listen(64)

def pipe(src, dst):
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass

def serve():
    while True:
        client, _ = server.accept()
        upstream = socket.socket(socket.AF_UNIX)
        try:
            upstream.connect(path)
        except OSError:
            client.close()
            continue
        threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()

threading.Thread(target=serve, daemon=True).start()
sys.argv = ["pip", *args]
runpy.run_module("pip", run_name="__main__", alter_sys=True)
"""


def allowed_hosts(index_url: str, extra: Iterable[str] = ()) -> set[tuple[str, int]]:
    """``(host, port)`` pairs the proxy may connect to: the index's, and ``extra`` hosts
    (``host`` or ``host:port``; https's port when none is given)."""
    parts = urlsplit(index_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"the package index {index_url!r} is not an http(s) URL")
    allowed = {(parts.hostname.lower(), parts.port or (443 if parts.scheme == "https" else 80))}
    for host in extra:
        name, _, port = host.partition(":")
        allowed.add((name.lower(), int(port) if port else 443))
    return allowed


class EgressProxy:
    """A forward proxy on a Unix socket that connects only to ``allowed`` hosts."""

    def __init__(self, folder: Path, allowed: set[tuple[str, int]], timeout: float = 30) -> None:
        self.folder = folder
        self.allowed = allowed
        self.timeout = timeout
        self.denied: list[str] = []
        self.connected: list[str] = []
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def socket_path(self) -> Path:
        return self.folder / SOCKET_NAME

    async def __aenter__(self) -> EgressProxy:
        self.folder.mkdir(mode=0o755, parents=True, exist_ok=True)
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(self.socket_path), limit=_HEADER_LIMIT
        )
        # The sandbox's user (nobody, for a root worker) must be able to connect.
        os.chmod(self.socket_path, 0o666)  # noqa: S103 - a socket only the sandbox sees
        os.chmod(self.folder, 0o755)  # noqa: S103
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._server is not None:
            self._server.close()
        # The connections first: a server's wait_closed() waits for them (Python 3.12+).
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._tasks.discard(task)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), self.timeout)
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ", 2)
        if method == "CONNECT":
            host, _, port_text = target.rpartition(":")
            host, port = host.strip("[]").lower(), int(port_text)
        else:
            url = urlsplit(target)
            if url.scheme != "http" or not url.hostname:
                await _answer(writer, 400, "only absolute http:// requests and CONNECT")
                return
            host, port = url.hostname.lower(), url.port or 80
        where = f"{host}:{port}"
        if (host, port) not in self.allowed:
            self.denied.append(where)
            log.info("sandbox_egress_denied", host=where)
            await _answer(writer, 403, f"{where} is not the configured package index")
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=_HEADER_LIMIT), self.timeout
            )
        except (OSError, TimeoutError):
            await _answer(writer, 502, f"{where} could not be reached")
            return
        self.connected.append(where)
        try:
            if method == "CONNECT":
                writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
                await writer.drain()
            else:
                up_writer.write(_origin_form(method, target, version, header_lines))
                await up_writer.drain()
            await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))
        finally:
            up_writer.close()
            with contextlib.suppress(Exception):
                await up_writer.wait_closed()


def _origin_form(method: str, target: str, version: str, header_lines: list[str]) -> bytes:
    """The request as the origin server reads it: origin-form path, no proxy headers, and
    ``Connection: close`` (one request per connection: each one is checked)."""
    url = urlsplit(target)
    path = (url.path or "/") + (f"?{url.query}" if url.query else "")
    dropped = ("proxy-", "connection", "keep-alive")
    kept = [h for h in header_lines if h and not h.lower().startswith(dropped)]
    lines = [f"{method} {path} {version}", *kept, "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(64 * 1024):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except OSError:
        pass


async def _answer(writer: asyncio.StreamWriter, status: int, message: str) -> None:
    reason = {400: "Bad Request", 403: "Forbidden", 502: "Bad Gateway"}[status]
    body = message.encode()
    writer.write(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    await writer.drain()
