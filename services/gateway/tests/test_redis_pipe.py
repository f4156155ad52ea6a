"""The rate limiter's Redis pipe: calls of one loop iteration share a write and a timeout."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from swe_common.testing import tcp_served
from swe_gateway.ratelimit import GCRA_LUA
from swe_gateway.redis_pipe import ScriptPipe

REDIS_URL = "redis://127.0.0.1:6379/0"


def _command(pipe: ScriptPipe, key: str) -> bytes:
    return pipe.command([key], [1000.0, 60_000.0])


async def test_concurrent_calls_each_get_their_own_answer_and_leave_no_timer_behind():
    pipe = ScriptPipe(REDIS_URL, GCRA_LUA, 1.0)
    prefix = f"swe:gateway:test:pipe:{uuid.uuid4().hex}"
    try:
        keys = [f"{prefix}:{i % 3}" for i in range(12)]
        replies = await asyncio.gather(*(pipe.call(_command(pipe, k), 1.0) for k in keys))
        # Per key, the budget goes down by one per call, in the order the calls were made.
        remaining: dict[str, list[int]] = {}
        for key, reply in zip(keys, replies, strict=True):
            assert int(reply[0]) == 1
            remaining.setdefault(key, []).append(int(reply[1]))
        for values in remaining.values():
            assert values == sorted(values, reverse=True) and len(set(values)) == len(values)
        # The batch's timer was cancelled once every call had its answer: nothing expires later.
        deadline = pipe._deadline
        assert deadline is not None and deadline.timer.cancelled()
    finally:
        pipe.close()


async def test_calls_to_a_silent_redis_time_out_together_after_their_own_seconds():
    answered = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await answered.wait()  # reads nothing, answers nothing (not even the script load)
        writer.close()

    async with tcp_served(silent) as port:
        pipe = ScriptPipe(f"redis://127.0.0.1:{port}/0", GCRA_LUA, 0.2)
        try:
            # The connection's script load never completes either: the first call's wait_for
            # says so.
            with pytest.raises(TimeoutError):
                await pipe.call(_command(pipe, "k"), 0.2)
        finally:
            answered.set()
            pipe.close()


async def test_a_batch_waiting_on_a_stalled_connection_expires_on_time():
    """Connected (the script loaded), then Redis stops answering: every call of the batch fails
    with TimeoutError after its own ``seconds`` (two timeouts in one batch), none much later."""
    pipe = ScriptPipe(REDIS_URL, GCRA_LUA, 1.0)
    try:
        await pipe.call(_command(pipe, f"swe:gateway:test:pipe:{uuid.uuid4().hex}"), 1.0)
        protocol = pipe._protocol
        assert protocol is not None and protocol.transport is not None
        protocol.transport.pause_reading()  # the replies stay unread: a Redis that hangs

        async def timed(seconds: float) -> float:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await pipe.call(_command(pipe, "swe:gateway:test:pipe:stalled"), seconds)
            return time.monotonic() - started

        short = [timed(0.1) for _ in range(3)]
        long = [timed(0.4) for _ in range(2)]
        elapsed = await asyncio.gather(*short, *long)
        assert all(0.09 <= e < 0.3 for e in elapsed[:3]), elapsed
        assert all(0.39 <= e < 0.7 for e in elapsed[3:]), elapsed
    finally:
        pipe.close()
