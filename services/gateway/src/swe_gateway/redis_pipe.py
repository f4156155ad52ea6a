"""A minimal pipelined Redis connection for the rate-limit script on the hot path.

redis-py costs more per call than the whole Lua script: a pool checkout, a lock, a timeout
context and a parse per reply. Here every EVALSHA waiting in one loop iteration goes out in one
write on one long-lived connection and the replies, which Redis returns in order, resolve the
callers' futures as they are parsed (hiredis). A lost connection fails whatever is pending (the
callers fall back) and the next call reconnects; the script is loaded on every (re)connect.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import socket
from collections.abc import Sequence
from typing import Any, cast

import hiredis
from redis.connection import parse_url
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from swe_gateway.single_flight import SingleFlight


def pack(*parts: str | bytes | float) -> bytes:
    """One RESP command."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part if isinstance(part, bytes) else str(part).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        # The loop it runs on, kept for the calls: on Python 3.11 get_running_loop() costs a
        # getpid() system call each time, once per request here.
        self.loop = asyncio.get_running_loop()
        self.reader = hiredis.Reader()
        self.waiting: collections.deque[asyncio.Future[Any] | None] = collections.deque()
        self.transport: asyncio.Transport | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Small pipelined writes must not wait for the previous one's ACK (Nagle).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.reader.feed(data)
        while (reply := self.reader.gets()) is not False:
            future = self.waiting.popleft() if self.waiting else None
            if future is None or future.done():
                continue  # a reply nobody waits for (script load, a caller that timed out)
            if isinstance(reply, hiredis.ReplyError):
                message = str(reply)
                error = NoScriptError if message.startswith("NOSCRIPT") else ResponseError
                future.set_exception(error(message))
            else:
                future.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        while self.waiting:
            future = self.waiting.popleft()
            if future is not None and not future.done():
                future.set_exception(RedisConnectionError("connection to Redis lost"))


class ScriptPipe:
    """Runs one Lua script by EVALSHA over a single pipelined connection."""

    def __init__(self, url: str, script: str, connect_timeout: float) -> None:
        self.options = parse_url(url)
        self.script = script
        self.sha = hashlib.sha1(script.encode()).hexdigest()  # noqa: S324 - Redis's script id
        self.connect_timeout = connect_timeout
        self._protocol: _Protocol | None = None
        self._connecting: SingleFlight[_Protocol] = SingleFlight()
        self._batch: list[tuple[bytes, asyncio.Future[Any]]] = []
        self._deadline: _Deadline | None = None

    def command(self, keys: list[str], args: list[float]) -> bytes:
        """The EVALSHA for these keys and arguments, encoded (callers may keep it: the same
        limits make the same bytes)."""
        return pack("EVALSHA", self.sha, len(keys), *keys, *args)

    async def call(self, command: bytes, seconds: float) -> Any:
        """The script's reply to ``command`` (from ``command()``); TimeoutError when none
        arrives within ``seconds`` (a late reply is then dropped unread)."""
        protocol = self._protocol
        if protocol is None or protocol.closed:
            protocol = await asyncio.wait_for(self._connection(), seconds)
        loop = protocol.loop
        future: asyncio.Future[Any] = loop.create_future()
        batch = self._batch
        if not batch:
            loop.call_soon(self._flush)
        batch.append((command, future))
        # One timer for the calls of one loop iteration (their deadlines differ by less than
        # the iteration took), cancelled once all of them are done; a timer rather than
        # wait_for(), which wraps the await in a task per request.
        deadline = self._deadline
        if deadline is None or deadline.batch is not batch or deadline.seconds != seconds:
            deadline = self._deadline = _Deadline(loop, batch, seconds)
        deadline.add(future)
        try:
            return await future
        except NoScriptError:
            # Someone flushed the scripts: load it again (in order, before later calls).
            self._send(protocol, [(pack("SCRIPT", "LOAD", self.script), None)])
            raise
        finally:
            deadline.done()

    def _flush(self) -> None:
        batch, self._batch = self._batch, []
        protocol = self._protocol
        if protocol is None or protocol.closed:
            for _, future in batch:
                if not future.done():
                    future.set_exception(RedisConnectionError("not connected to Redis"))
            return
        self._send(protocol, batch)

    @staticmethod
    def _send(
        protocol: _Protocol, batch: Sequence[tuple[bytes, asyncio.Future[Any] | None]]
    ) -> None:
        assert protocol.transport is not None
        protocol.waiting.extend(future for _, future in batch)
        protocol.transport.write(b"".join(command for command, _ in batch))

    async def _connection(self) -> _Protocol:
        if self._protocol is not None and not self._protocol.closed:
            return self._protocol
        # One connect shared by every caller that arrives meanwhile.
        return await self._connecting.run(None, self._connect)

    async def _connect(self) -> _Protocol:
        loop = asyncio.get_running_loop()
        host, port = self.options.get("host", "127.0.0.1"), int(self.options.get("port", 6379))
        try:
            _, protocol = await asyncio.wait_for(
                loop.create_connection(_Protocol, host, port), self.connect_timeout
            )
        except OSError as exc:
            raise RedisConnectionError(f"cannot connect to Redis: {exc}") from None
        setup: list[tuple[bytes, asyncio.Future[Any] | None]] = []
        if self.options.get("password"):
            auth = [self.options.get("username"), self.options["password"]]
            setup.append((pack("AUTH", *[a for a in auth if a]), loop.create_future()))
        if int(self.options.get("db") or 0):
            setup.append((pack("SELECT", int(self.options["db"])), loop.create_future()))
        setup.append((pack("SCRIPT", "LOAD", self.script), loop.create_future()))
        self._send(protocol, setup)
        try:
            await asyncio.wait_for(
                asyncio.gather(*(f for _, f in setup if f is not None)), self.connect_timeout
            )
        except BaseException:
            assert protocol.transport is not None
            protocol.transport.close()
            raise
        self._protocol = protocol
        return protocol

    def close(self) -> None:
        if self._protocol is not None and self._protocol.transport is not None:
            self._protocol.transport.close()


class _Deadline:
    """The timeout shared by the calls that joined one batch with the same ``seconds``."""

    __slots__ = ("batch", "futures", "pending", "seconds", "timer")

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        batch: list[tuple[bytes, asyncio.Future[Any]]],
        seconds: float,
    ) -> None:
        self.batch = batch  # identifies the batch (and keeps its id from being reused)
        self.seconds = seconds
        self.futures: list[asyncio.Future[Any]] = []
        self.pending = 0  # calls added and not yet done
        self.timer = loop.call_later(seconds, self._expire)

    def add(self, future: asyncio.Future[Any]) -> None:
        self.futures.append(future)
        self.pending += 1

    def done(self) -> None:
        """One of the calls finished (each calls this once, its future done by then): the
        last one cancels the timer. A count, not a scan of the futures: a batch holds every
        request of a loop iteration, and scanning it on each return was quadratic."""
        self.pending -= 1
        if self.pending <= 0:
            self.timer.cancel()

    def _expire(self) -> None:
        for future in self.futures:
            if not future.done():
                future.set_exception(TimeoutError("Redis did not answer in time"))
