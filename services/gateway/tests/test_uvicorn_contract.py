"""The parts of uvicorn that ``server.GatewayHttpProtocol`` overrides or reads are private: no
release promises to keep them. These tests fail on an upgrade that moves them, before the
gateway's deadlines or coalesced writes silently stop working (docs/adr/0005)."""

from __future__ import annotations

import asyncio
import inspect
import re
import socket
import tomllib
from importlib.metadata import version
from pathlib import Path

import uvicorn
from packaging.specifiers import SpecifierSet
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from swe_common.http_server import CorkedTransport, ServiceCycle
from swe_gateway.server import GatewayHttpProtocol

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"

# Each method the gateway overrides, with the parameters uvicorn calls it with.
OVERRIDDEN = {
    "connection_made": ["self", "transport"],
    "connection_lost": ["self", "exc"],
    "on_message_begin": ["self"],
    "on_headers_complete": ["self"],
    "on_body": ["self", "body"],
    "on_message_complete": ["self"],
    "on_response_complete": ["self"],
}


def pinned_uvicorn() -> SpecifierSet:
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    spec = next(d for d in dependencies if re.match(r"uvicorn\b", d))
    return SpecifierSet(re.sub(r"^uvicorn(\[[^\]]*\])?", "", spec))


def test_uvicorn_is_pinned_to_a_minor_version_and_the_installed_one_matches():
    spec = pinned_uvicorn()
    assert any(s.operator == "<" for s in spec), f"{spec}: an upper bound keeps upgrades deliberate"
    assert version("uvicorn") in spec, f"installed uvicorn {version('uvicorn')} is not {spec}"


def test_the_methods_the_gateway_overrides_exist_in_uvicorn_with_the_same_parameters():
    own = {
        name
        for name, member in vars(GatewayHttpProtocol).items()
        if inspect.isfunction(member) and hasattr(HttpToolsProtocol, name)
    }
    assert own == set(OVERRIDDEN), "an override added or removed: list it in OVERRIDDEN"
    for name, parameters in OVERRIDDEN.items():
        base = getattr(HttpToolsProtocol, name)
        assert list(inspect.signature(base).parameters) == parameters, f"uvicorn changed {name}"
    # The gateway's own helpers must not shadow something uvicorn added under the same name.
    for name in ("_expect", "_check_deadline", "_request_timed_out", "_waiting_for", "_due",
                 "_timer", "_timer_at", "_head_timeout", "_body_idle"):  # fmt: skip
        assert not hasattr(HttpToolsProtocol, name), f"uvicorn now has its own {name}"
        assert not hasattr(RequestResponseCycle, name)


async def test_the_state_the_gateway_reads_is_where_it_expects_it_mid_request():
    """A real connection, held mid-request (head sent, body awaited after 100-continue): the
    attributes server.py reads on the protocol, its parser, flow control and the request's
    cycle are there, with the meaning it relies on."""
    received, release = asyncio.Event(), asyncio.Event()

    async def app(scope, receive, send):
        if scope["type"] == "http":
            received.set()
            await release.wait()  # the body is not asked for (no 100 Continue) until then
            await receive()

    loop = asyncio.get_running_loop()
    config = uvicorn.Config(app, http=GatewayHttpProtocol, lifespan="off", log_config=None)
    protocol = GatewayHttpProtocol(
        config=config, server_state=ServerState(), app_state={}, _loop=loop
    )
    ours, theirs = socket.socketpair()
    transport, _ = await loop.connect_accepted_socket(lambda: protocol, ours)
    try:
        assert protocol.loop is loop
        assert isinstance(protocol.transport, CorkedTransport), "uvicorn kept our transport"
        assert protocol._waiting_for == "head"
        theirs.sendall(
            b"POST /x HTTP/1.1\r\nHost: gw\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
        )
        await asyncio.wait_for(received.wait(), 5)
        assert protocol._waiting_for == "body"
        assert protocol.parser.should_upgrade() is False
        assert protocol.flow.read_paused is False
        cycle = protocol.cycle
        assert isinstance(cycle, RequestResponseCycle)
        assert cycle.waiting_for_100_continue is True
        assert cycle.response_started is False and cycle.response_complete is False
        assert cycle.disconnected is False
        assert isinstance(cycle.message_event, asyncio.Event)
        # What a deadline does to a request in flight: its receive returns, its sends drop.
        protocol._request_timed_out()
        assert cycle.disconnected is True and cycle.message_event.is_set()
        release.set()
    finally:
        transport.close()
        theirs.close()
        await asyncio.sleep(0)


async def test_a_request_is_answered_through_the_gateways_cycle():
    seen: list[type] = []

    async def app(scope, receive, send):
        seen.append(type(send.__self__))
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"ok"})

    loop = asyncio.get_running_loop()
    config = uvicorn.Config(app, http=GatewayHttpProtocol, lifespan="off", log_config=None)
    protocol = GatewayHttpProtocol(
        config=config, server_state=ServerState(), app_state={}, _loop=loop
    )
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    transport, _ = await loop.connect_accepted_socket(lambda: protocol, ours)
    try:
        theirs.sendall(b"GET /x HTTP/1.1\r\nHost: gw\r\n\r\n")
        answer = b""
        while not answer.endswith(b"ok"):
            answer += await asyncio.wait_for(loop.sock_recv(theirs, 1024), 5)
        assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
        assert seen == [ServiceCycle]
    finally:
        transport.close()
        theirs.close()
        await asyncio.sleep(0)


async def test_an_idle_keep_alive_connection_is_closed_after_uvicorns_timeout_and_not_before():
    """The keep-alive timeout runs on the gateway's own deadline timer (one per connection):
    a second request inside it is answered on the same connection; once the connection has
    been idle for ``timeout_keep_alive`` after its last answer, it is closed."""

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-length", b"2")]})  # fmt: skip
        await send({"type": "http.response.body", "body": b"ok"})

    loop = asyncio.get_running_loop()
    config = uvicorn.Config(
        app, http=GatewayHttpProtocol, lifespan="off", log_config=None, timeout_keep_alive=1
    )
    protocol = GatewayHttpProtocol(
        config=config, server_state=ServerState(), app_state={}, _loop=loop
    )
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    transport, _ = await loop.connect_accepted_socket(lambda: protocol, ours)

    async def answer() -> bytes:
        theirs.sendall(b"GET /x HTTP/1.1\r\nHost: gw\r\n\r\n")
        data = b""
        while not data.endswith(b"ok"):
            data += await asyncio.wait_for(loop.sock_recv(theirs, 1024), 5)
        return data

    try:
        assert (await answer()).startswith(b"HTTP/1.1 200 OK\r\n")
        assert protocol._waiting_for == "idle"
        await asyncio.sleep(0.6)
        assert (await answer()).startswith(b"HTTP/1.1 200 OK\r\n")  # 0.6 s idle: still open
        idle_from = loop.time()
        assert await asyncio.wait_for(loop.sock_recv(theirs, 1024), 5) == b""  # closed
        assert 0.9 <= loop.time() - idle_from < 3
    finally:
        transport.close()
        theirs.close()
        await asyncio.sleep(0)
