"""Ports for servers a test starts in another process: chosen where an outgoing connection can
never take them first (a fault test once failed with EADDRINUSE when a RabbitMQ node, starting
between the choice and the bind, connected from the kernel-chosen port)."""

from __future__ import annotations

import socket
from contextlib import ExitStack
from pathlib import Path

from swe_common.testing import free_port, free_ports


def ephemeral_start() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_ports_are_below_the_range_the_kernel_gives_outgoing_connections() -> None:
    ports = [*free_ports(20), free_port()]

    assert all(10_000 <= port < ephemeral_start() for port in ports), ports


def test_ports_are_distinct_and_can_all_be_listened_on_at_once() -> None:
    ports = free_ports(30) + free_ports(30)

    assert len(set(ports)) == len(ports)
    with ExitStack() as stack:
        for port in ports:
            listener = stack.enter_context(socket.socket())
            listener.bind(("127.0.0.1", port))
            listener.listen()
