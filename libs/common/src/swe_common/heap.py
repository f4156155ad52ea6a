"""The cyclic garbage collector, set once per process for a service that has started.

CPython's collector runs on the count of objects made: a first-generation pass each time 700
more container objects exist than at the last pass, and now and then a full pass over every
object the process holds. A started service holds ~165,000 (modules, the app, its routes,
pydantic's and SQLAlchemy's structures), made once and kept until exit, so a full pass took
80-150 ms of CPU, and a list page makes enough dicts and models for a first-generation pass
every seven or eight requests. Under a load of list pages (6,000 of projects) the collector
took 45-65 µs of CPU per request, 5-7 % of a page, and found no garbage in the first two
generations: what a request makes, it frees by reference counting.

``settle`` (at the end of the lifespan's start-up) collects once, then freezes what exists
(``gc.freeze``: out of every later pass, never collected) and raises the first generation's
threshold to ``THRESHOLD`` (Python 3.13 raised its default to 2,000 for the same reason).
Garbage in cycles made later is still collected: the passes see only objects made after
start-up, and the threshold bounds how many exist uncollected (a few MB at most).
"""

from __future__ import annotations

import gc

# With it no first-generation pass ran during 6,000 list pages: the count (objects made less
# objects freed) stays under a few hundred at 8 concurrent requests.
THRESHOLD = 5_000
_settled = False


def settle() -> None:
    """Once per process (a test process starts many apps: the first one settles it)."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    first, second, third = gc.get_threshold()
    gc.set_threshold(max(THRESHOLD, first), second, third)
