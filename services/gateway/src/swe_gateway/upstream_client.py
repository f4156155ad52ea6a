"""The proxy's upstream HTTP/1.1 client: pooled keep-alive connections, parsed by httptools.

Why not aiohttp here: a profile of the gateway under load put ~40% of its CPU inside
aiohttp's client (request objects, header multidicts, auto headers, timers, a writer and a
reader per request), for a job that is forwarding bytes the gateway has already parsed once.
This client writes the request head from the ASGI scope's raw header pairs in one write and
parses the answer with the same C parser uvicorn uses (llhttp via httptools), on an
``asyncio.Protocol``. aiohttp remains the client for WebSockets, health checks, the API-key
exchange and the OpenAPI merge, which are off the hot path.

What it keeps from a full client: connect and read timeouts, flow control both ways (a slow
client pauses reading from the upstream, a slow upstream pauses the upload), chunked request
bodies, responses framed by length, chunks or connection close, HEAD, 1xx interim answers
skipped, ``Connection: close`` honoured, idle connections dropped before the upstream's own
keep-alive timeout, TLS for https instances, and a cap on connections per instance.
"""

from __future__ import annotations

import asyncio
import collections
import select
import socket
import ssl
import time
from collections.abc import AsyncIterator
from typing import cast

import httptools
from yarl import URL

Headers = list[tuple[bytes, bytes]]

# A connection idle longer than this is checked for a hang-up before it is reused.
PEEK_AFTER_IDLE_SECONDS = 0.5
# Bytes of response body held for a slow client before the upstream is paused.
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024
# Set by this client from the body it sends; a forwarded copy would contradict it.
FRAMING = frozenset({b"content-length", b"transfer-encoding", b"expect"})
NEEDS_LENGTH = frozenset({"POST", "PUT", "PATCH"})


class UpstreamError(Exception):
    """kind: ``connect`` (nothing was answered; an idempotent request may be retried),
    ``saturated`` (nothing was sent: every connection allowed to the instance stayed busy),
    ``timeout`` (no answer in time) or ``invalid`` (the answer is not valid HTTP)."""

    kind = "invalid"


class ConnectFailed(UpstreamError):
    kind = "connect"


class PoolSaturated(UpstreamError):
    """Every connection allowed to the instance was in use for the whole connect timeout: the
    instance is loaded, not failing, and the request was not sent."""

    kind = "saturated"


class UpstreamClosed(UpstreamError):
    """The connection closed before any byte of an answer."""

    kind = "connect"


class UpstreamTimeout(UpstreamError, TimeoutError):
    kind = "timeout"


class InvalidResponse(UpstreamError):
    kind = "invalid"


class _Connection(asyncio.Protocol):
    """One keep-alive connection; carries one exchange at a time."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._write_paused = False
        self._drained: asyncio.Future[None] | None = None
        # The read timeout: one timer per connection, armed lazily (see _wait).
        self._awaited: asyncio.Future[None] | None = None
        self._due = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        # One parser for the connection's life: llhttp takes consecutive answers in turn.
        self.parser = httptools.HttpResponseParser(self)
        self._reset()

    def _reset(self) -> None:
        self.head_only = False
        self.sent_whole = True  # False while a streamed request body is still going out
        self.status = 0
        self.headers: Headers = []
        self.content_length: int | None = None
        self.framed = False  # Content-Length or chunked: the end is known without a close
        self.head: asyncio.Future[None] | None = None
        self.chunks: collections.deque[bytes] = collections.deque()
        self.buffered = 0
        self.complete = False
        self.keep_alive = False
        self.error: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._read_paused = False

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(InvalidResponse(f"invalid HTTP from upstream: {exc}"))
            self.close()

    def eof_received(self) -> bool:
        return False  # close the transport: HTTP/1.1 has no half-closed answers

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._stop_timer()
        if self.head is not None and not self.head.done():
            self.head.set_exception(UpstreamClosed("the upstream closed the connection"))
        elif self.status and not self.complete:
            if self.framed:
                self._fail(InvalidResponse("the upstream closed the connection mid-body"))
            else:
                self.complete = True  # a body delimited by the connection's close
                self._wake()
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self.pool.forget(self)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    # -- httptools callbacks --------------------------------------------------------------

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200:
            self.headers = []  # an interim answer (100, 103): the real one follows
            return
        self.status = status
        self.content_length, chunked = _framing(self.headers)
        self.framed = (
            status in (204, 304) or self.head_only or chunked or self.content_length is not None
        )
        if self.head is not None and not self.head.done():
            self.head.set_result(None)
        if self.head_only:
            # llhttp would wait for the body Content-Length announces; a HEAD has none.
            self._finish(self.parser.should_keep_alive())
            self.parser = httptools.HttpResponseParser(self)

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > HIGH_WATER and not self._read_paused and self.transport is not None:
            self._read_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self.status == 0 or self.complete:
            return  # the end of an interim answer, or of a HEAD answer already finished
        self._finish(self.parser.should_keep_alive())

    # -- the exchange ---------------------------------------------------------------------

    def _finish(self, keep_alive: bool) -> None:
        self.complete = True
        self.keep_alive = keep_alive
        self._wake()

    def _fail(self, error: UpstreamError) -> None:
        if self.head is not None and not self.head.done():
            self.head.set_exception(error)
        elif self.error is None and not self.complete:
            self.error = error
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, future: asyncio.Future[None], seconds: float) -> None:
        # Not asyncio.timeout(), nor even a timer per wait: this runs once per request and per
        # chunk. The connection keeps one timer, left armed between waits: a wait only moves
        # the deadline (and the timer, if it would fire too late); when the timer fires early
        # for the wait in progress, it re-arms itself for that wait's deadline.
        due = self._due = self.loop.time() + seconds
        self._awaited = future
        if self._timer is None or self._timer_at > due:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_at = due
            self._timer = self.loop.call_at(due, self._check_timeout)
        try:
            await future
        finally:
            self._awaited = None

    def _check_timeout(self) -> None:
        self._timer = None
        future = self._awaited
        if future is None or future.done():
            return  # no wait in progress: the next one arms the timer again
        if self.loop.time() < self._due:
            self._timer_at = self._due
            self._timer = self.loop.call_at(self._due, self._check_timeout)
            return
        future.set_exception(UpstreamTimeout("no answer from the upstream in time"))
        self.close()

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def drain(self) -> None:
        if self._write_paused and not self.closed:
            self._drained = self.loop.create_future()
            await self._drained

    async def wait_head(self, seconds: float) -> None:
        if self.status:
            return  # it came while the body was still being sent
        if self.error is not None:
            raise self.error
        if self.closed:
            raise UpstreamClosed("the upstream closed the connection")
        self.head = self.loop.create_future()
        await self._wait(self.head, seconds)

    async def next_chunk(self, seconds: float) -> bytes | None:
        """The next piece of body, or None at its end."""
        while not self.chunks:
            if self.complete:
                return None
            if self.error is not None:
                raise self.error
            if self.closed:
                raise InvalidResponse("the upstream closed the connection mid-body")
            self._waiter = self.loop.create_future()
            await self._wait(self._waiter, seconds)
        chunk = self.chunks.popleft()
        self.buffered -= len(chunk)
        if self._read_paused and self.buffered < LOW_WATER and self.transport is not None:
            self._read_paused = False
            self.transport.resume_reading()
        return chunk

    def reusable(self, now: float) -> bool:
        idle = now - self.idle_since
        if self.closed or idle >= self.pool.keepalive_seconds:
            return False
        # The upstream may have closed it while it sat idle, and the loop not have read the FIN
        # yet (under load the loop lags): a POST sent on it would fail and could not be retried.
        # Ask the socket, once it has idled long enough for that to be likely.
        return idle < PEEK_AFTER_IDLE_SECONDS or not self._peer_hung_up()

    def _peer_hung_up(self) -> bool:
        """Readable while idle: the peer closed it (or sent something unasked). Either way
        the connection is done."""
        sock = self.transport.get_extra_info("socket") if self.transport else None
        if sock is None:
            return True
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN | select.POLLRDHUP)
        return bool(poller.poll(0))

    def close(self) -> None:
        self._stop_timer()
        if self.transport is not None and not self.closed:
            self.closed = True
            self.transport.abort()


class UpstreamResponse:
    """An answer whose head has arrived; the body is read with ``read`` or ``iter_chunks``.
    ``release`` must be called once (it returns the connection to the pool, or closes it)."""

    __slots__ = ("_conn", "_read_timeout", "_released", "content_length", "headers", "status")

    def __init__(self, conn: _Connection, read_timeout: float) -> None:
        self._conn = conn
        self._read_timeout = read_timeout
        self._released = False
        self.status = conn.status
        self.headers = conn.headers
        self.content_length = conn.content_length

    async def read(self) -> bytes:
        conn = self._conn
        if conn.complete and len(conn.chunks) <= 1:
            body = conn.chunks.popleft() if conn.chunks else b""
            conn.buffered = 0
            return body
        parts = []
        while (chunk := await conn.next_chunk(self._read_timeout)) is not None:
            parts.append(chunk)
        return b"".join(parts)

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        conn = self._conn
        while (chunk := await conn.next_chunk(self._read_timeout)) is not None:
            yield chunk

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        self._conn.pool.release(self._conn)


class _Pool:
    """Idle connections to one instance, newest first, and a cap on how many exist."""

    def __init__(
        self, client: UpstreamClient, host: str, port: int, tls: ssl.SSLContext | None
    ) -> None:
        self.client = client
        self.loop = client.loop
        self.host, self.port, self.tls = host, port, tls
        self.host_header = host.encode() if port in (80, 443) else f"{host}:{port}".encode()
        self.keepalive_seconds = client.keepalive_seconds
        self.idle: list[_Connection] = []
        self.slots = asyncio.Semaphore(client.max_connections)

    async def acquire(self, connect_timeout: float) -> _Connection:
        """A connection, idle or new. Waiting for a free one counts against the connect
        timeout (as in aiohttp): a saturated instance answers 503, not an endless queue."""
        if self.slots.locked():
            try:
                await asyncio.wait_for(self.slots.acquire(), connect_timeout)
            except TimeoutError:
                raise PoolSaturated(
                    f"no free connection to {self.host}:{self.port} within {connect_timeout}s"
                ) from None
        else:
            await self.slots.acquire()
        try:
            now = time.monotonic()
            while self.idle:
                conn = self.idle.pop()
                if conn.reusable(now):
                    conn._reset()
                    return conn
                conn.close()
            return await self._connect(connect_timeout)
        except BaseException:
            self.slots.release()
            raise

    async def _connect(self, seconds: float) -> _Connection:
        conn = _Connection(self)
        try:
            async with asyncio.timeout(seconds):
                await self.loop.create_connection(
                    lambda: conn,
                    self.host,
                    self.port,
                    ssl=self.tls,
                    server_hostname=self.host if self.tls else None,
                )
        except (OSError, TimeoutError) as exc:
            conn.close()
            raise ConnectFailed(f"cannot connect to {self.host}:{self.port}: {exc!r}") from exc
        return conn

    def release(self, conn: _Connection) -> None:
        self.slots.release()
        if (
            conn.complete
            and conn.keep_alive
            and conn.sent_whole
            and not conn.closed
            and not conn.chunks
        ):
            conn.idle_since = time.monotonic()
            self.idle.append(conn)
        else:
            conn.close()

    def forget(self, conn: _Connection) -> None:
        if conn in self.idle:
            self.idle.remove(conn)

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


class UpstreamClient:
    def __init__(self, *, max_connections: int, keepalive_seconds: float) -> None:
        self.loop = asyncio.get_running_loop()
        self.max_connections = max_connections
        self.keepalive_seconds = keepalive_seconds
        self._pools: dict[tuple[str, str, int], _Pool] = {}
        # Per instance URL: its pool and path prefix (instances are few and long-lived).
        self._bases: dict[URL, tuple[_Pool, bytes]] = {}
        self._tls: ssl.SSLContext | None = None

    def _pool(self, base: URL) -> _Pool:
        key = (base.scheme, base.raw_host or "", base.port or 0)
        pool = self._pools.get(key)
        if pool is None:
            tls = None
            if base.scheme == "https":
                tls = self._tls = self._tls or ssl.create_default_context()
            pool = self._pools[key] = _Pool(self, base.raw_host or "", base.port or 0, tls)
        return pool

    async def request(
        self,
        method: str,
        base: URL,
        target: bytes,
        headers: Headers,
        body: bytes | AsyncIterator[bytes] | None,
        *,
        connect_timeout: float,
        read_timeout: float,
    ) -> UpstreamResponse:
        """Send the request and wait for the answer's head.

        ``target`` is the path and query as the client sent them (already percent-encoded),
        ``headers`` the pairs to forward (framing headers are set here from ``body``).
        Raises UpstreamError, or whatever the body iterator raises (the connection is then
        closed: the upstream never sees a request cut short as complete).
        """
        known = self._bases.get(base)
        if known is None:
            known = self._bases[base] = (self._pool(base), base.raw_path.rstrip("/").encode())
        pool, prefix = known
        conn = await pool.acquire(connect_timeout)
        try:
            conn.head_only = method == "HEAD"
            lines = [method.encode(), b" ", prefix, target, b" HTTP/1.1\r\nhost: "]
            lines.append(pool.host_header)
            for name, value in headers:
                if name.lower() not in FRAMING:
                    lines += (b"\r\n", name, b": ", value)
            if isinstance(body, bytes):
                lines += (b"\r\ncontent-length: ", str(len(body)).encode(), b"\r\n\r\n", body)
            elif body is not None:
                lines.append(b"\r\ntransfer-encoding: chunked\r\n\r\n")
            elif method in NEEDS_LENGTH:
                lines.append(b"\r\ncontent-length: 0\r\n\r\n")
            else:
                lines.append(b"\r\n\r\n")
            if conn.closed:
                raise UpstreamClosed("the pooled connection closed")
            assert conn.transport is not None
            conn.transport.write(b"".join(lines))
            if body is not None and not isinstance(body, bytes):
                await _send_chunked(conn, body)
            await conn.wait_head(read_timeout)
        except BaseException:
            conn.close()
            pool.slots.release()
            raise
        return UpstreamResponse(conn, read_timeout)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
        self._bases.clear()


async def _send_chunked(conn: _Connection, body: AsyncIterator[bytes]) -> None:
    assert conn.transport is not None
    conn.sent_whole = False
    async for chunk in body:
        if conn.closed or conn.status:
            # The upstream answered (or hung up) before taking the whole body; the connection
            # stays marked unfinished, so it is closed after the answer, never reused.
            return
        conn.transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        await conn.drain()
    if not conn.closed:
        conn.transport.write(b"0\r\n\r\n")
        conn.sent_whole = True


def _framing(headers: Headers) -> tuple[int | None, bool]:
    """(Content-Length, or None when absent or not a number; whether the body is chunked)."""
    length, chunked = None, False
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-length":
            try:
                length = int(value)
            except ValueError:
                length = None
        elif lower == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return length, chunked


def is_safe_header_value(value: bytes) -> bool:
    """Values the gateway itself adds must not smuggle a header line."""
    return b"\r" not in value and b"\n" not in value and b"\0" not in value
