"""Concurrent callers of the same key share one call; a later caller makes a new one."""

from __future__ import annotations

import asyncio

import pytest

from swe_gateway.single_flight import SingleFlight


async def test_concurrent_callers_of_one_key_share_one_call_and_later_ones_call_again():
    flights: SingleFlight[int] = SingleFlight()
    calls = 0

    async def slow() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return calls

    assert await asyncio.gather(*(flights.run("k", slow) for _ in range(10))) == [1] * 10
    assert await flights.run("k", slow) == 2


async def test_a_failure_reaches_every_caller_and_is_not_kept():
    flights: SingleFlight[int] = SingleFlight()

    async def failing() -> int:
        await asyncio.sleep(0.01)
        raise ConnectionError("down")

    results = await asyncio.gather(
        *(flights.run("k", failing) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)

    async def ok() -> int:
        return 7

    assert await flights.run("k", ok) == 7


async def test_a_cancelled_caller_leaves_the_call_running_for_the_others():
    flights: SingleFlight[str] = SingleFlight()

    async def slow() -> str:
        await asyncio.sleep(0.05)
        return "done"

    leaving = asyncio.create_task(flights.run("k", slow))
    staying = asyncio.create_task(flights.run("k", slow))
    await asyncio.sleep(0.01)
    leaving.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert await staying == "done"
