"""The services' uvicorn protocol (``swe_common.http_server``: a response's writes sent as
one, its head written with cheaper checks), with deadlines for slow clients.

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
"""

from __future__ import annotations

import asyncio
import functools

from swe_common.http_server import ServiceHttpProtocol
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


class GatewayHttpProtocol(ServiceHttpProtocol):
    # "head", "body", "idle" (between keep-alive requests) or None (nothing expected from the
    # client: a request is being answered).
    _waiting_for: str | None = None
    _due = 0.0
    _timer: asyncio.TimerHandle | None = None
    _timer_at = 0.0  # when _timer fires

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
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
