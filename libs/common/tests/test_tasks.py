"""A stop ends even when a task does not take its cancellation."""

from __future__ import annotations

import asyncio

from swe_common.tasks import cancel_and_wait


async def _loop_that_turns_cancellation_into_an_error(
    rounds: list[int], in_rpc: asyncio.Event
) -> None:
    """What a ``while True`` loop does around a library call that raises its own error when
    cancelled (aiormq mid-RPC): the error is logged and the loop sleeps until its next round."""
    while True:
        try:
            try:
                in_rpc.set()
                await asyncio.sleep(10)  # the RPC
            except asyncio.CancelledError:
                raise RuntimeError("channel closed") from None
        except RuntimeError:
            rounds.append(1)
        await asyncio.sleep(10)  # until the next round


async def test_a_task_that_swallows_one_cancellation_is_cancelled_again_until_it_ends() -> None:
    rounds: list[int] = []
    in_rpc = asyncio.Event()
    task = asyncio.create_task(_loop_that_turns_cancellation_into_an_error(rounds, in_rpc))
    await in_rpc.wait()
    assert await asyncio.wait_for(cancel_and_wait([task], within=5), 6) is True
    assert task.cancelled()
    assert rounds == [1]  # it swallowed the first cancellation: cancel() + gather would hang


async def test_a_task_that_never_ends_is_left_behind_after_the_timeout() -> None:
    released = False

    async def stubborn() -> None:
        while not released:
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                continue

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    started = asyncio.get_running_loop().time()
    assert await cancel_and_wait([task], within=0.3) is False
    assert asyncio.get_running_loop().time() - started < 2
    assert not task.done()
    released = True  # let it end, so the test leaves nothing running
    await asyncio.wait_for(task, 2)


async def test_finished_tasks_need_no_wait() -> None:
    task = asyncio.create_task(asyncio.sleep(0))
    await task
    assert await cancel_and_wait([task], within=0.01) is True
