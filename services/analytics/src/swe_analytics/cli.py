"""``swe-analytics``: operator commands of the analytics service.

``swe-analytics rebuild`` empties every projection and replays the event store into them.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

from swe_analytics.ingest.service import rebuild
from swe_analytics.settings import Settings
from swe_common.db import Database
from swe_common.logging import configure_logging


async def run_rebuild(settings: Settings, batch_size: int) -> int:
    db = Database(settings)
    try:
        return await rebuild(db, batch_size)
    finally:
        await db.dispose()


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="swe-analytics", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rebuild_cmd = commands.add_parser(
        "rebuild", help="truncate the projections and replay the event store into them"
    )
    rebuild_cmd.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="stored events fetched per round trip (default: setting)",
    )
    args = parser.parse_args(argv)
    settings = settings or Settings.load()
    configure_logging(settings)
    batch_size = args.batch_size or settings.rebuild_batch_size
    if batch_size < 1:
        parser.error("--batch-size must be at least 1")
    started = time.perf_counter()
    replayed = asyncio.run(run_rebuild(settings, batch_size))
    elapsed = time.perf_counter() - started
    print(f"rebuilt projections from {replayed} events in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
