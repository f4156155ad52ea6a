"""Raw-ASGI helpers: header handling and client addresses (problem+json answers are
``swe_common.errors.send_problem``)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from starlette.types import Scope

Headers = list[tuple[bytes, bytes]]

# RFC 9110 7.6.1 plus the legacy ones still seen in the wild.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
SECURITY_HEADERS: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
]


def connection_tokens(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """Header names a ``Connection`` header declares hop-by-hop (RFC 9110 7.6.1)."""
    named: set[bytes] = set()
    for name, value in headers:
        if name.lower() == b"connection":
            named.update(t.strip().lower() for t in value.split(b",") if t.strip())
    return frozenset(named)


def header(scope: Scope, name: bytes) -> bytes | None:
    headers: Iterable[tuple[bytes, bytes]] = scope["headers"]
    for key, value in headers:
        if key == name:
            return value
    return None


class Networks:
    """A list of IP networks with a memo of the addresses already classified."""

    def __init__(self, cidrs: list[str]) -> None:
        self.networks = [ipaddress.ip_network(c, strict=False) for c in cidrs]
        self._memo: dict[str, bool] = {}

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __contains__(self, address: str) -> bool:
        known = self._memo.get(address)
        if known is not None:
            return known
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            found = False
        else:
            found = any(ip in network for network in self.networks)
        if len(self._memo) < 10_000:
            self._memo[address] = found
        return found


def client_chain(peer: str, forwarded: bytes | None, trusted: Networks) -> tuple[str, str]:
    """(client address, X-Forwarded-For to send). Incoming X-Forwarded-For counts only when the
    peer is a trusted proxy; then the client is the right-most address not a trusted proxy."""
    if forwarded is None or not trusted or peer not in trusted:
        return peer, peer
    chain = [a.strip() for a in forwarded.decode("latin-1").split(",") if a.strip()]
    chain.append(peer)
    client = peer
    for address in reversed(chain):
        client = address
        if address not in trusted:
            break
    return client, ", ".join(chain)
