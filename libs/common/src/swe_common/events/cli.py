"""``swe-events``: operator commands for the event bus.

    swe-events dlq list <queue> [--amqp-url URL] [--limit N] [--json]
    swe-events dlq replay <queue> (--id EVENT_ID [EVENT_ID ...] | --all) [--amqp-url URL]

``<queue>`` is the consumer's queue (``issues.projects``) or its DLQ (``issues.projects.dlq``).
The broker URL defaults to ``$SWE_AMQP_URL``, then to the local RabbitMQ.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence

import aiormq

from swe_common.events.consumer import dlq_name
from swe_common.events.dlq import (
    DeadLetter,
    list_dead_letters,
    main_queue_of,
    replay_dead_letters,
)

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="swe-events", description="Operator commands for the event bus."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    dlq = commands.add_parser("dlq", help="inspect and replay a consumer's dead-letter queue")
    actions = dlq.add_subparsers(dest="action", required=True)

    def common(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("queue", help="the consumer queue <consumer>.<purpose> (or its .dlq)")
        sub.add_argument(
            "--amqp-url",
            default=os.environ.get("SWE_AMQP_URL") or DEFAULT_AMQP_URL,
            help="RabbitMQ URL (default: $SWE_AMQP_URL or the local broker)",
        )

    listing = actions.add_parser("list", help="print dead-lettered messages without removing them")
    common(listing)
    listing.add_argument("--limit", type=int, default=None, help="show at most N messages")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")

    replay = actions.add_parser("replay", help="move dead letters back to the main queue")
    common(replay)
    which = replay.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--id", dest="ids", nargs="+", action="extend", metavar="EVENT_ID", help="events to replay"
    )
    which.add_argument("--all", action="store_true", help="replay every dead letter")
    return parser


def _print_table(letters: list[DeadLetter]) -> None:
    rows = [
        (
            letter.event_id,
            letter.event_type or "-",
            str(letter.attempts),
            letter.dead_lettered_at or "-",
            (letter.error or "-").replace("\n", " ")[:120],
        )
        for letter in letters
    ]
    header = ("ID", "TYPE", "ATTEMPTS", "DEAD-LETTERED AT", "ERROR")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        padded = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*padded, row[4]]))


async def _list(args: argparse.Namespace) -> int:
    letters = await list_dead_letters(args.amqp_url, args.queue, limit=args.limit)
    if args.json:
        for letter in letters:
            print(json.dumps(letter.as_dict()))
        return 0
    print(f"{len(letters)} message(s) in {dlq_name(main_queue_of(args.queue))}")
    if letters:
        _print_table(letters)
    return 0


async def _replay(args: argparse.Namespace) -> int:
    ids = None if args.all else list(dict.fromkeys(args.ids))
    replayed = await replay_dead_letters(args.amqp_url, args.queue, event_ids=ids)
    target = main_queue_of(args.queue)
    print(f"replayed {len(replayed)} message(s) from {dlq_name(target)} to {target}")
    for letter in replayed:
        print(f"  {letter.event_id}  {letter.event_type or '-'}")
    if ids is not None:
        missing = set(ids) - {letter.event_id for letter in replayed}
        if missing:
            print(f"not found in {dlq_name(target)}: {', '.join(sorted(missing))}", file=sys.stderr)
            return 1
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command = _list if args.action == "list" else _replay
    try:
        return asyncio.run(command(args))
    except aiormq.exceptions.ChannelNotFoundEntity as exc:
        print(f"swe-events: no such queue: {exc}", file=sys.stderr)
        return 2
    except (OSError, aiormq.exceptions.AMQPError) as exc:
        print(f"swe-events: RabbitMQ error: {exc.__class__.__name__}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
