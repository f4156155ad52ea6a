"""uvicorn's httptools protocol, with the writes of one loop iteration sent as one, and
deadlines for slow clients.

uvicorn writes a response's head and its body with two ``transport.write`` calls, and on
loopback each write is a ``send`` that also runs the receiver's TCP processing: in a profile
of the gateway under load those two sends were a quarter of its CPU. Holding writes until the
end of the loop iteration (like TCP_CORK) turns a small response into one send, at the cost of
one scheduled callback.

uvicorn bounds only the idle time between keep-alive requests: a client that trickles a
request's head, or stops midway through its body, holds its connection (and whatever the
gateway has set up for it) forever. Here a request's head must arrive within
``REQUEST_HEAD_TIMEOUT_SECONDS`` of its first byte (or of the connection's opening), and its
body may pause at most ``REQUEST_BODY_IDLE_SECONDS`` between two chunks (not counted while the
gateway itself stops reading for back-pressure, or while the client waits for a
``100 Continue``); past either the client gets 408 and the connection is closed. One timer per
connection at most, re-armed lazily: a request costs a clock read, not a timer. The same timer
keeps uvicorn's keep-alive timeout (an idle connection closed ``timeout_keep_alive`` seconds
after its last answer), which uvicorn arms with a timer of its own per response.

A response's head is written by ``GatewayCycle.send``: uvicorn's own code for it, with the same
checks made cheaper (header names already seen are not matched again, every value is matched
in one search): with a dozen headers per answer, uvicorn's two regular-expression searches per
header were a tenth of the gateway's Python time.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.protocols.http.httptools_impl import (
    HEADER_RE,
    HEADER_VALUE_RE,
    STATUS_LINE,
    HttpToolsProtocol,
    RequestResponseCycle,
)
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

from swe_gateway.settings import Settings

REQUEST_TIMEOUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\n"
    b"connection: close\r\ncontent-length: %d\r\n\r\n%s"
)
TIMEOUT_BODY = (
    b'{"type":"https://swe-platform.dev/problems/request-timeout","title":"Request Timeout",'
    b'"status":408,"detail":"The request was not received in time."}'
)


@functools.cache
def client_deadlines() -> tuple[float, float]:
    """(head timeout, body idle timeout): read once per worker process."""
    settings = Settings.load()
    return settings.request_head_timeout_seconds, settings.request_body_idle_seconds


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


class GatewayHttpProtocol(HttpToolsProtocol):
    # "head", "body", "idle" (between keep-alive requests) or None (nothing expected from the
    # client: a request is being answered).
    _waiting_for: str | None = None
    _due = 0.0
    _timer: asyncio.TimerHandle | None = None
    _timer_at = 0.0  # when _timer fires

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        corked = CorkedTransport(transport, self.loop)
        super().connection_made(corked)  # type: ignore[arg-type]
        self._head_timeout, self._body_idle = client_deadlines()
        self._expect("head", self._head_timeout)  # a connection that never says anything

    def connection_lost(self, exc: Exception | None) -> None:
        self._waiting_for = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._expect("head", self._head_timeout)

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and type(cycle) is RequestResponseCycle:
            # The request's task has been created but has not run yet: it looks ``send`` up on
            # the cycle when it starts, and finds ours (same state, one method overridden).
            cycle.__class__ = GatewayCycle
        if self.parser.should_upgrade():
            self._waiting_for = None  # a WebSocket: its own protocol takes the connection over
        else:
            self._expect("body", self._body_idle)  # until on_message_complete

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._due = self.loop.time() + self._body_idle

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._waiting_for = None

    def on_response_complete(self) -> None:
        # uvicorn's, with the keep-alive timeout on the connection's timer (_expect) rather
        # than a timer armed per response and cancelled by the next request's first bytes.
        # Its own path when a request is still being read (an early answer: the body deadline
        # stays) or pipelined requests wait.
        if self._waiting_for is not None or self.pipeline:
            super().on_response_complete()
            return
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        self._expect("idle", self.timeout_keep_alive)

    def _expect(self, what: str, seconds: float) -> None:
        self._waiting_for = what
        due = self._due = self.loop.time() + seconds
        timer = self._timer
        # A timer already armed for this deadline or an earlier one is re-armed when it fires;
        # one armed for later (a body's 30 s, then an idle connection's 5 s) must be moved up.
        if timer is None or self._timer_at > due:
            if timer is not None:
                timer.cancel()
            self._timer_at = due
            self._timer = self.loop.call_at(due, self._check_deadline)

    def _check_deadline(self) -> None:
        self._timer = None
        if self._waiting_for is None or self.transport.is_closing():
            return
        now = self.loop.time()
        cycle = self.cycle
        if (
            self._waiting_for == "body"
            and cycle is not None
            and (self.flow.read_paused or cycle.waiting_for_100_continue)
        ):
            self._due = now + self._body_idle  # the gateway is not reading: not the client's fault
        if now < self._due:
            self._timer_at = self._due
            self._timer = self.loop.call_at(self._due, self._check_deadline)
            return
        if self._waiting_for == "idle":
            self._waiting_for = None
            self.timeout_keep_alive_handler()  # closes the connection, nothing to answer
            return
        self._request_timed_out()

    def _request_timed_out(self) -> None:
        """408 when no answer is under way on this connection, then close it; the request's
        app (if one runs) sees the client gone and stops."""
        self._waiting_for = None
        cycle = self.cycle
        in_flight = cycle is not None and not cycle.response_complete
        if not (in_flight and cycle.response_started):
            self.transport.write(REQUEST_TIMEOUT % (len(TIMEOUT_BODY), TIMEOUT_BODY))
        if in_flight:
            cycle.disconnected = True  # its sends are dropped now
            cycle.message_event.set()  # a pending receive returns
        self.transport.close()


# Header names that passed uvicorn's check, lowered (a handful: the gateway's own and its
# upstreams'), and the ones whose value the head's framing depends on.
_VALID_NAMES: dict[bytes, bytes] = {}
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection"})
_MAX_VALID_NAMES = 1024


class GatewayCycle(RequestResponseCycle):
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
        content = [STATUS_LINE[status_code]]
        values = []
        has_connection_close = False
        for name, value in headers:
            lowered = _VALID_NAMES.get(name)
            if lowered is None:
                if HEADER_RE.search(name):
                    raise RuntimeError("Invalid HTTP header name.")
                lowered = name.lower()
                if len(_VALID_NAMES) < _MAX_VALID_NAMES:
                    _VALID_NAMES[name] = lowered
            values.append(value)
            name = lowered
            if name not in _FRAMING:
                pass
            elif name == b"content-length" and self.chunked_encoding is None:
                self.expected_content_length = int(value.decode())
                self.chunked_encoding = False
            elif name == b"transfer-encoding" and value.lower() == b"chunked":
                self.expected_content_length = 0
                self.chunked_encoding = True
            elif name == b"connection":
                connection = [token.lower().strip() for token in value.split(b",")]
                if b"close" in connection:
                    self.keep_alive = False
                    has_connection_close = True
            content += (name, b": ", value, b"\r\n")
        # A tab is allowed in a value and matched by nothing: one search covers every value.
        if HEADER_VALUE_RE.search(b"\t".join(values)):
            raise RuntimeError("Invalid HTTP header value.")
        if not self.keep_alive and not has_connection_close:
            content.append(b"connection: close\r\n")
        if (
            self.chunked_encoding is None
            and self.scope["method"] != "HEAD"
            and status_code not in (204, 304)
        ):
            self.chunked_encoding = True  # neither content-length nor transfer-encoding
            content.append(b"transfer-encoding: chunked\r\n")
        content.append(b"\r\n")
        self.transport.write(b"".join(content))
