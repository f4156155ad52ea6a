"""uvicorn's httptools protocol with a response's writes sent as one, and its head written
with cheaper checks: what every HTTP process here runs (the services through ``swe-stack`` and the
images' entrypoint with ``--http swe_common.http_server:ServiceHttpProtocol``; the gateway
subclasses it to add its deadlines for slow clients).

uvicorn writes a response's head and its body with two ``transport.write`` calls, and on
loopback each write is a ``send`` that also runs the receiver's TCP processing: in a profile
of the gateway under load those two sends were a quarter of its CPU. Holding writes until the
end of the loop iteration (like TCP_CORK) turns a small response into one send, at the cost of
one scheduled callback. A streamed response still goes out chunk by chunk: each ``send`` of the
app awaits, so its writes are flushed before the next chunk is produced.

A response's head is written by ``ServiceCycle.send``: uvicorn's own code for it, with the same
checks made cheaper (header names already seen are not matched again, every value is matched
in one search): with a dozen headers per answer, uvicorn's two regular-expression searches per
header were a tenth of the gateway's Python time.

The methods overridden here are uvicorn's private ones: uvicorn is pinned to a minor version and
``tests/app/test_http_server.py`` fails on an upgrade that moves them (docs/adr/0005).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string


class CorkedTransport:
    """A transport whose writes wait for the end of the current loop iteration."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        self._pending = []
        if not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()  # what was written before close() must still go out
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending = []
        self._transport.abort()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending))

    # Called on every request: spared the __getattr__ fallback below.
    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class ServiceHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol writing through a ``CorkedTransport`` and answering through
    a ``ServiceCycle``."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CorkedTransport(transport, self.loop))  # type: ignore[arg-type]

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is RequestResponseCycle:
            # The request's task has been created but has not run yet: it looks ``send`` up on
            # the cycle when it starts, and finds ours (same state, one method overridden).
            cycle.__class__ = ServiceCycle


# Header names that passed uvicorn's check, lowered (a handful: the app's own, and for the
# gateway its upstreams'), and the ones whose value the head's framing depends on.
_VALID_NAMES: dict[bytes, bytes] = {}
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection"})
_MAX_VALID_NAMES = 1024
# The same names without framing, as written before their value: b"\r\n" + lowered + b": ".
# Each header line is then two parts of the head (the line before it ends with this CRLF), and
# a name seen before costs one lookup.
_PLAIN_PREFIXES: dict[bytes, bytes] = {}
# The status lines without their CRLF: the first header brings it.
_STATUS_LINES = {status: line[:-2] for status, line in STATUS_LINE.items()}


class ServiceCycle(RequestResponseCycle):
    """uvicorn's request-response cycle with a cheaper way to write a response's head."""

    async def send(self, message: Any) -> None:
        if (
            self.response_started
            or self.disconnected
            or self.flow.write_paused
            or message["type"] != "http.response.start"
        ):
            await super().send(message)  # the body, a drain, a misuse: uvicorn's own path
            return
        # From uvicorn's RequestResponseCycle.send (0.54), the same head and the same checks.
        self.response_started = True
        self.waiting_for_100_continue = False
        status_code = message["status"]
        headers = self.default_headers + list(message.get("headers", []))
        if self.access_log:
            self.access_logger.info(
                '%s - "%s %s HTTP/%s" %d',
                get_client_addr(self.scope),
                self.scope["method"],
                get_path_with_query_string(self.scope),
                self.scope["http_version"],
                status_code,
            )
        content = [_STATUS_LINES[status_code]]
        has_connection_close = False
        for name, value in headers:
            prefix = _PLAIN_PREFIXES.get(name)
            if prefix is None:
                lowered = _VALID_NAMES.get(name)
                if lowered is None:
                    if HEADER_RE.search(name):
                        raise RuntimeError("Invalid HTTP header name.")
                    lowered = name.lower()
                    if len(_VALID_NAMES) < _MAX_VALID_NAMES:
                        _VALID_NAMES[name] = lowered
                prefix = b"\r\n" + lowered + b": "
                if lowered not in _FRAMING:
                    if len(_PLAIN_PREFIXES) < _MAX_VALID_NAMES:
                        _PLAIN_PREFIXES[name] = prefix
                elif lowered == b"content-length" and self.chunked_encoding is None:
                    self.expected_content_length = int(value.decode())
                    self.chunked_encoding = False
                elif lowered == b"transfer-encoding" and value.lower() == b"chunked":
                    self.expected_content_length = 0
                    self.chunked_encoding = True
                elif lowered == b"connection":
                    connection = [token.lower().strip() for token in value.split(b",")]
                    if b"close" in connection:
                        self.keep_alive = False
                        has_connection_close = True
            content += (prefix, value)
        # A tab is allowed in a value and matched by nothing: one search covers every value
        # (after the status line, the head alternates prefix and value).
        if HEADER_VALUE_RE.search(b"\t".join(content[2::2])):
            raise RuntimeError("Invalid HTTP header value.")
        if not self.keep_alive and not has_connection_close:
            content.append(b"\r\nconnection: close")
        if (
            self.chunked_encoding is None
            and self.scope["method"] != "HEAD"
            and status_code not in (204, 304)
        ):
            self.chunked_encoding = True  # neither content-length nor transfer-encoding
            content.append(b"\r\ntransfer-encoding: chunked")
        content.append(b"\r\n\r\n")
        self.transport.write(b"".join(content))
