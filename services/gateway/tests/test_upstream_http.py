"""The gateway's HTTP/1.1 conversation with upstreams, against upstreams written byte by byte.

Each upstream here is a raw TCP server speaking exactly the HTTP the test needs (interim
answers, bodies ended by a close, HEAD, broken answers), so what the gateway does with each is
visible on the wire, on both sides.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from gateway_support import GatewayProcess
from yarl import URL

from swe_common.testing import TcpHandler, TokenFactory, tcp_served
from swe_gateway.upstream_client import (
    PEEK_AFTER_IDLE_SECONDS,
    PoolSaturated,
    UpstreamClient,
)

INSTANCES = "/api/v1/gateway/admin/services/empty/instances"
Scenario = Callable[[bytes, asyncio.StreamReader, asyncio.StreamWriter], Awaitable[bool]]


class RawUpstream:
    """Answers /health/ready itself; every other request goes to ``scenario``, which writes
    the answer and says whether to keep the connection. Records the connections that carried
    requests other than health checks, and what each request head was."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.connections = 0
        self.heads: list[bytes] = []
        self.bodies: list[bytes] = []
        self.url = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counted = False
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                if head.split(b" ", 2)[1] == b"/health/ready":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    continue
                if not counted:
                    counted = True
                    self.connections += 1
                self.heads.append(head)
                if not await self.scenario(head, reader, writer):
                    break
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@asynccontextmanager
async def registered(client: httpx.AsyncClient, tokens: TokenFactory, scenario: Scenario,
                     ) -> AsyncIterator[RawUpstream]:  # fmt: skip
    admin = tokens.headers(roles=("admin",))
    upstream = RawUpstream(scenario)
    async with tcp_served(upstream.serve) as port:
        upstream.url = f"http://127.0.0.1:{port}"
        created = await client.post(INSTANCES, headers=admin, json={"url": upstream.url})
        assert created.status_code == 201
        try:
            yield upstream
        finally:
            await client.delete(INSTANCES, headers=admin, params={"url": upstream.url})


async def ok(_: bytes, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    return True


async def test_reuses_one_upstream_connection_for_consecutive_requests(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    async with registered(client, tokens, ok) as upstream:
        for _ in range(20):
            response = await client.get("/api/v1/empty/x", headers=tokens.headers())
            assert response.text == "hello"
    assert upstream.connections == 1


async def test_opens_a_new_connection_when_the_upstream_says_close(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    async def close_each(_: bytes, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye")
        return False

    async with registered(client, tokens, close_each) as upstream:
        for _ in range(3):
            response = await client.post("/api/v1/empty/x", headers=tokens.headers())
            assert (response.status_code, response.text) == (200, "bye")
    assert upstream.connections == 3


async def test_relays_a_body_that_ends_with_the_connection(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    async def until_close(_: bytes, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 100_000)
        return False

    async with registered(client, tokens, until_close):
        response = await client.get("/api/v1/empty/x", headers=tokens.headers())
    assert response.status_code == 200
    assert response.content == b"x" * 100_000


async def test_relays_a_chunked_answer_unchanged(client: httpx.AsyncClient, tokens: TokenFactory):
    async def chunked(_: bytes, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for part in (b"first,", b"second,", b"third"):
            writer.write(b"%x\r\n%s\r\n" % (len(part), part))
            await writer.drain()
            await asyncio.sleep(0.01)
        writer.write(b"0\r\n\r\n")
        return True

    async with registered(client, tokens, chunked) as upstream:
        for _ in range(2):
            response = await client.get("/api/v1/empty/x", headers=tokens.headers())
            assert response.content == b"first,second,third"
    assert upstream.connections == 1


async def test_skips_an_interim_answer_and_relays_the_final_one(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    async def early_hints(_: bytes, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n")
        await writer.drain()
        writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\nX-Final: yes\r\n\r\ndone")
        return True

    async with registered(client, tokens, early_hints):
        response = await client.post("/api/v1/empty/x", headers=tokens.headers())
    assert (response.status_code, response.text) == (201, "done")
    assert response.headers["x-final"] == "yes"
    assert "link" not in response.headers


async def test_head_answer_without_body_leaves_the_connection_usable(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    async def head_then_get(head: bytes, _: asyncio.StreamReader, writer: asyncio.StreamWriter,
                            ) -> bool:  # fmt: skip
        if head.startswith(b"HEAD "):
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")  # no body: it is HEAD
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        return True

    async with registered(client, tokens, head_then_get) as upstream:
        headed = await client.head("/api/v1/empty/x", headers=tokens.headers())
        got = await client.get("/api/v1/empty/x", headers=tokens.headers())
    assert (headed.status_code, headed.headers["content-length"], headed.content) == (200, "5", b"")
    assert got.text == "hello"
    assert upstream.connections == 1


async def test_small_answer_broken_off_midway_gets_502_problem(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    async def broken(_: bytes, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly ten b")
        return False

    async with registered(client, tokens, broken):
        response = await client.post("/api/v1/empty/x", headers=tokens.headers())
    assert response.status_code == 502
    assert response.headers["content-type"] == "application/problem+json"


async def test_large_answer_broken_off_midway_cuts_the_client_connection(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    async def broken(_: bytes, __: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n" + b"y" * 300_000)
        return False

    async with registered(client, tokens, broken):
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get("/api/v1/empty/x", headers=tokens.headers())
        # The gateway stays healthy for the next caller.
        assert (await client.get("/health/live")).status_code == 200


async def test_forwards_the_request_line_and_a_body_with_its_own_length(
    client: httpx.AsyncClient, tokens: TokenFactory
):
    async def record_body(head: bytes, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        return True

    async with registered(client, tokens, record_body) as upstream:
        response = await client.post(
            "/api/v1/empty/a%20b/c?q=1&r=%2F",
            headers={**tokens.headers(), "Expect": "100-continue"},
            content=b"payload",
        )
    assert response.status_code == 204
    head = upstream.heads[0].lower()
    assert head.startswith(b"post /api/v1/empty/a%20b/c?q=1&r=%2f http/1.1\r\n")
    assert b"content-length: 7\r\n" in head
    assert b"expect:" not in head  # the gateway already took the body; no 100 to wait for


async def test_chunked_upload_crossing_the_limit_midway_gets_413_and_never_completes_upstream(
    start_gateway: Callable[..., Awaitable[GatewayProcess]], tokens: TokenFactory
):
    gateway = await start_gateway(max_body_bytes=1_000_000)
    received: list[bytes] = []

    async def read_chunked(_: bytes, reader: asyncio.StreamReader,
                           writer: asyncio.StreamWriter) -> bool:  # fmt: skip
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            received.append(await reader.readexactly(size + 2))
            if size == 0:
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                return True

    http = httpx.AsyncClient(base_url=gateway.url, timeout=30)
    async with http, registered(http, tokens, read_chunked):
        reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
        writer.write(
            b"POST /api/v1/empty/upload HTTP/1.1\r\nHost: gw\r\n"
            + f"Authorization: Bearer {tokens.token()}\r\n".encode()
            + b"Transfer-Encoding: chunked\r\n\r\n"
        )
        block = b"z" * 65536
        try:
            for _ in range(40):  # 2.6 MB, over the 1 MB limit
                writer.write(b"%x\r\n%s\r\n" % (len(block), block))
                await writer.drain()
        except ConnectionError:
            pass  # the gateway may stop reading once it has answered
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        writer.close()
    assert head.startswith(b"HTTP/1.1 413 ")
    assert b"application/problem+json" in head
    # The upstream saw the body cut off, never its end: no truncated upload passed as whole.
    assert b"\r\n" not in received  # the empty last chunk never arrived
    assert sum(len(chunk) - 2 for chunk in received) <= 1_000_000


# -- the client in process: when a pooled connection must not be reused ------------------


@asynccontextmanager
async def client_to(
    handler: TcpHandler, max_connections: int
) -> AsyncIterator[tuple[UpstreamClient, URL]]:
    """The gateway's upstream client in this process, and the URL of a raw TCP upstream that
    runs ``handler``; the client's connections close before the upstream stops listening."""
    async with tcp_served(handler) as port:
        client = UpstreamClient(max_connections=max_connections, keepalive_seconds=30)
        try:
            yield client, URL(f"http://127.0.0.1:{port}")
        finally:
            client.close()


async def test_idle_connection_the_upstream_hung_up_is_not_reused_even_before_the_loop_sees_it():
    writers: list[asyncio.StreamWriter] = []

    async def answer_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()

    async with client_to(answer_once, max_connections=4) as (client, base):

        async def get() -> bytes:
            response = await client.request(
                "POST", base, b"/x", [], None, connect_timeout=2, read_timeout=2
            )
            try:
                return await response.read()
            finally:
                response.release()

        assert await get() == b"ok"
        await asyncio.sleep(PEEK_AFTER_IDLE_SECONDS)
        writers[0].close()  # the upstream's keep-alive timeout
        await asyncio.sleep(0)  # one loop turn: the server's socket closes, the FIN is sent
        time.sleep(0.2)
        assert await get() == b"ok"  # on a new connection, not a failed POST
        assert len(writers) == 2


async def test_connection_whose_upload_was_cut_short_by_an_early_answer_is_not_reused():
    connections = 0

    async def refuse_early(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 2\r\n\r\nno")
                await writer.drain()

    async def body() -> AsyncIterator[bytes]:
        for _ in range(50):
            yield b"a" * 65536
            await asyncio.sleep(0.01)

    async with client_to(refuse_early, max_connections=4) as (client, base):
        for _ in range(2):
            response = await client.request(
                "PUT", base, b"/x", [], body(), connect_timeout=2, read_timeout=5
            )
            assert (response.status, await response.read()) == (403, b"no")
            response.release()
        # The second request did not go down the first one's half-sent body.
        assert connections == 2


async def test_waiting_for_a_free_connection_counts_against_the_connect_timeout():

    release = asyncio.Event()

    holding = asyncio.Event()

    async def slow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            while True:
                await reader.readuntil(b"\r\n\r\n")
                holding.set()
                await release.wait()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()

    async with client_to(slow, max_connections=1) as (client, base):

        async def get(connect_timeout: float) -> bytes:
            response = await client.request(
                "GET", base, b"/x", [], None, connect_timeout=connect_timeout, read_timeout=5
            )
            try:
                return await response.read()
            finally:
                response.release()

        first = asyncio.create_task(get(2))
        await asyncio.wait_for(holding.wait(), 10)  # its request holds the only connection
        started = time.monotonic()
        with pytest.raises(PoolSaturated):
            await get(0.2)
        assert time.monotonic() - started < 1.5
        release.set()
        assert await first == b"ok"
        assert await get(0.2) == b"ok"  # the slot came back with the connection
