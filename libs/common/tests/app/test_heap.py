"""A started service's objects are out of the cyclic collector's passes (``swe_common.heap``):
frozen once the lifespan has started, the first generation's threshold raised, and garbage in
cycles made afterwards still collected."""

from __future__ import annotations

import gc
import weakref

from swe_common import heap
from swe_common.testing import running_app

from .conftest import build_app


class Node:
    """An object that can hold a reference to itself (a cycle only the collector frees)."""

    other: object = None


async def test_a_started_service_freezes_what_start_up_made(database_url: str) -> None:
    async with running_app(build_app(database_url)) as client:
        assert (await client.get("/health/live")).status_code == 200
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold()[0] >= heap.THRESHOLD
        heap.settle()  # once per process: a second app does not freeze again
        frozen = gc.get_freeze_count()
        heap.settle()
        assert gc.get_freeze_count() == frozen


def test_garbage_in_cycles_made_later_is_still_collected() -> None:
    heap.settle()
    node = Node()
    node.other = node
    gone = weakref.ref(node)
    del node
    gc.collect()
    assert gone() is None
