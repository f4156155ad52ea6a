"""The services' uvicorn protocol (swe_common.http_server): a response leaves in one write,
a streamed one still streams, keep-alive and pipelined requests are answered in order; and the
private parts of uvicorn it overrides are where it expects them (uvicorn is pinned to a minor
version: an upgrade that moves them fails here first)."""

from __future__ import annotations

import asyncio
import inspect
import re
import socket
import tomllib
from collections.abc import AsyncIterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from packaging.specifiers import SpecifierSet
from uvicorn.protocols.http.flow_control import FlowControl
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from swe_common.http_server import CorkedTransport, ServiceCycle, ServiceHttpProtocol
from swe_common.stack import HTTP_PROTOCOL

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
OVERRIDDEN = {"connection_made": ["self", "transport"], "on_headers_complete": ["self"]}


def test_uvicorn_is_pinned_to_a_minor_version_and_the_installed_one_matches():
    dependencies = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    pinned = next(d for d in dependencies if re.match(r"uvicorn\b", d))
    spec = SpecifierSet(re.sub(r"^uvicorn(\[[^\]]*\])?", "", pinned))
    assert any(s.operator == "<" for s in spec), f"{spec}: an upper bound keeps upgrades deliberate"
    assert version("uvicorn") in spec, f"installed uvicorn {version('uvicorn')} is not {spec}"


def test_the_overridden_methods_exist_in_uvicorn_with_the_same_parameters():
    own = {
        name
        for name, member in vars(ServiceHttpProtocol).items()
        if inspect.isfunction(member) and hasattr(HttpToolsProtocol, name)
    }
    assert own == set(OVERRIDDEN), "an override added or removed: list it in OVERRIDDEN"
    for name, parameters in OVERRIDDEN.items():
        base = getattr(HttpToolsProtocol, name)
        assert list(inspect.signature(base).parameters) == parameters, f"uvicorn changed {name}"
    assert list(inspect.signature(RequestResponseCycle.send).parameters) == ["self", "message"]


def test_the_stack_runs_apps_with_the_protocol_uvicorn_loads_by_name():
    config = uvicorn.Config(lambda: None, http=HTTP_PROTOCOL)
    config.load()
    assert config.http_protocol_class is ServiceHttpProtocol


class _CountingTransport:
    """The socket's transport, counting the writes that reach it (each one a ``send``)."""

    def __init__(self, transport: asyncio.Transport, writes: list[bytes]) -> None:
        self._transport = transport
        self.writes = writes

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def _counted(writes: list[bytes]) -> type[ServiceHttpProtocol]:
    class Counted(ServiceHttpProtocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(_CountingTransport(transport, writes))  # type: ignore[arg-type]

    return Counted


@pytest.fixture
async def connect() -> AsyncIterator[Any]:
    """``connect(app)``: the app served by a ServiceHttpProtocol over a socket pair; returns
    the client's socket and the writes that reached the server's transport."""
    opened: list[tuple[asyncio.BaseTransport, socket.socket]] = []
    loop = asyncio.get_running_loop()

    async def connect(app: Any) -> tuple[socket.socket, list[bytes]]:
        writes: list[bytes] = []
        protocol_class = _counted(writes)
        config = uvicorn.Config(app, http=protocol_class, lifespan="off", log_config=None)
        protocol = protocol_class(
            config=config, server_state=ServerState(), app_state={}, _loop=loop
        )
        ours, theirs = socket.socketpair()
        theirs.setblocking(False)
        transport, _ = await loop.connect_accepted_socket(lambda: protocol, ours)
        opened.append((transport, theirs))
        assert isinstance(protocol.transport, CorkedTransport)
        return theirs, writes

    yield connect
    for transport, theirs in opened:
        transport.close()
        theirs.close()
    await asyncio.sleep(0)


async def _read_until(client: socket.socket, end: bytes, *, count: int = 1) -> bytes:
    loop = asyncio.get_running_loop()
    data = b""
    while data.count(end) < count:
        data += await asyncio.wait_for(loop.sock_recv(client, 65536), 5)
    return data


async def _json_app(scope: Any, receive: Any, send: Any) -> None:
    body = b'{"path":"%s"}' % scope["path"].encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def test_a_response_goes_out_in_one_write(connect):
    client, writes = await connect(_json_app)
    client.sendall(b"GET /a HTTP/1.1\r\nHost: s\r\n\r\n")
    answer = await _read_until(client, b'{"path":"/a"}')
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert len(writes) == 1, writes  # uvicorn's own protocol: head, then body
    assert writes[0] == answer


async def test_keep_alive_and_pipelined_requests_are_answered_in_order(connect):
    client, writes = await connect(_json_app)
    client.sendall(b"GET /first HTTP/1.1\r\nHost: s\r\n\r\n")
    await _read_until(client, b'{"path":"/first"}')
    # Two requests in one packet: both answered, in the order they were sent.
    client.sendall(b"GET /second HTTP/1.1\r\nHost: s\r\n\r\nGET /third HTTP/1.1\r\nHost: s\r\n\r\n")
    answers = await _read_until(client, b"HTTP/1.1 200 OK", count=2)
    while not answers.endswith(b'{"path":"/third"}'):
        answers += await _read_until(client, b"}")
    assert answers.index(b"/second") < answers.index(b"/third")
    assert len(writes) == 3  # one per response


async def test_a_streamed_response_is_sent_chunk_by_chunk(connect):
    release = asyncio.Event()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await release.wait()  # the client has the first chunk before the second exists
        await send({"type": "http.response.body", "body": b"second", "more_body": False})

    client, _ = await connect(app)
    client.sendall(b"GET /stream HTTP/1.1\r\nHost: s\r\n\r\n")
    head_and_first = await _read_until(client, b"first\r\n")
    assert b"transfer-encoding: chunked" in head_and_first
    release.set()
    assert (await _read_until(client, b"0\r\n\r\n")).startswith(b"6\r\nsecond\r\n")


async def test_a_request_is_answered_through_the_services_cycle(connect):
    seen: list[type] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(type(send.__self__))
        await _json_app(scope, receive, send)

    client, _ = await connect(app)
    client.sendall(b"GET /x HTTP/1.1\r\nHost: s\r\n\r\n")
    await _read_until(client, b"}")
    assert seen == [ServiceCycle]


class _Written:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    def is_closing(self) -> bool:
        return False

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...

    def close(self) -> None: ...


async def _head(cycle_class: type[RequestResponseCycle], method: str, headers, keep_alive=True):
    transport = _Written()
    cycle = cycle_class(
        scope={"method": method, "http_version": "1.1", "headers": []},  # type: ignore[typeddict-item]
        transport=transport,  # type: ignore[arg-type]
        flow=FlowControl(transport),  # type: ignore[arg-type]
        logger=None,  # type: ignore[arg-type]
        access_logger=None,  # type: ignore[arg-type]
        access_log=False,
        default_headers=[(b"date", b"Thu, 03 Dec 2026 12:00:00 GMT")],
        message_event=asyncio.Event(),
        expect_100_continue=False,
        keep_alive=keep_alive,
        on_response=lambda: None,
    )
    try:
        await cycle.send({"type": "http.response.start", "status": 200, "headers": headers})
    except RuntimeError as exc:
        return f"raised {exc}"
    return (transport.data, cycle.keep_alive, cycle.chunked_encoding, cycle.expected_content_length)


async def test_the_cycle_writes_the_head_uvicorn_would_write():
    """ServiceCycle.send copies uvicorn's head-writing with cheaper checks: for every case the
    bytes, the framing state and the refusals must be uvicorn's own."""
    cases = [
        ("GET", [(b"content-length", b"2"), (b"X-Upper", b"v"), (b"x-a", b"tab\there")], True),
        ("GET", [(b"transfer-encoding", b"Chunked")], True),
        ("GET", [], True),
        ("HEAD", [], True),
        ("GET", [(b"connection", b"keep-alive, Close"), (b"content-length", b"0")], True),
        ("GET", [(b"content-length", b"3")], False),
        ("GET", [(b"bad name", b"v")], True),
        ("GET", [(b"x-ok", b"v"), (b"x-bad", b"a\r\nInjected: 1")], True),
        ("GET", [(b"x-nul", b"a\x00b")], True),
    ]
    for method, headers, keep_alive in cases:
        theirs = await _head(RequestResponseCycle, method, headers, keep_alive)
        ours = await _head(ServiceCycle, method, headers, keep_alive)
        assert ours == theirs, (method, headers)
    # The second time a name is seen it is remembered as valid: still the same answers.
    for method, headers, keep_alive in cases:
        assert await _head(ServiceCycle, method, headers, keep_alive) == await _head(
            RequestResponseCycle, method, headers, keep_alive
        )
