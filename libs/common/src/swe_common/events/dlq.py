"""Operator tools for a consumer's dead-letter queue ``<queue>.dlq``: look, and replay.

Listing takes every message with ``basic.get`` without acking, reads it and puts it back
(``reject(requeue=True)``), so nothing is removed. Replaying republishes the chosen messages to
the main queue (through the default exchange, so only that consumer sees them again) with the
attempt counter and the error headers removed, and acks each one from the DLQ only after the
broker confirmed its copy. A crash in between leaves a copy in both queues; the consumer's inbox
makes the second one a no-op.
"""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, DeliveryMode

from swe_common.events.broker import copy_headers
from swe_common.events.consumer import (
    ATTEMPTS_HEADER,
    DEAD_LETTERED_AT_HEADER,
    ERROR_HEADER,
    ERROR_TYPE_HEADER,
    FAILURE_HEADERS,
    QUEUE_HEADER,
    ROUTING_KEY_HEADER,
    dlq_name,
)

REPLAYED_AT_HEADER = "x-swe-replayed-at"


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    event_type: str | None
    attempts: int
    error: str | None
    error_type: str | None
    dead_lettered_at: str | None
    original_routing_key: str | None
    queue: str | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def main_queue_of(queue: str) -> str:
    """Accept either the consumer queue or its DLQ name."""
    return queue.removesuffix(".dlq")


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    body: dict[str, Any] = {}
    try:
        parsed = json.loads(message.body)
        if isinstance(parsed, dict):
            body = parsed
    except ValueError:
        pass
    event_id = body.get("id") or message.message_id or "?"
    event_type = body.get("type") or headers.get("ce-type") or message.type

    def text(key: str) -> str | None:
        value = headers.get(key)
        if value is None:
            return None
        return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

    try:
        attempts = int(headers.get(ATTEMPTS_HEADER, 0))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        attempts = 0
    return DeadLetter(
        event_id=str(event_id),
        event_type=str(event_type) if event_type else None,
        attempts=attempts,
        error=text(ERROR_HEADER),
        error_type=text(ERROR_TYPE_HEADER),
        dead_lettered_at=text(DEAD_LETTERED_AT_HEADER),
        original_routing_key=text(ROUTING_KEY_HEADER),
        queue=text(QUEUE_HEADER),
    )


async def _take_all(
    channel: AbstractChannel, queue_name: str, limit: int | None
) -> list[AbstractIncomingMessage]:
    """Get (without ack) every message the queue holds now; they stay unacked until settled."""
    queue = await channel.declare_queue(queue_name, passive=True)
    count = queue.declaration_result.message_count or 0
    if limit is not None:
        count = min(count, limit)
    messages: list[AbstractIncomingMessage] = []
    while len(messages) < count:
        message = await queue.get(no_ack=False, fail=False, timeout=10)
        if message is None:
            break
        messages.append(message)
    return messages


async def list_dead_letters(
    amqp_url: str, queue: str, *, limit: int | None = None
) -> list[DeadLetter]:
    """The dead-lettered messages of ``queue`` (its ``.dlq``), left in place."""
    connection = await aio_pika.connect(amqp_url, timeout=10)
    try:
        channel = await connection.channel(publisher_confirms=False)
        messages = await _take_all(channel, dlq_name(main_queue_of(queue)), limit)
        letters = [describe(message) for message in messages]
        for message in messages:
            await message.reject(requeue=True)
        return letters
    finally:
        await connection.close()


async def replay_dead_letters(
    amqp_url: str, queue: str, *, event_ids: Collection[str] | None = None
) -> list[DeadLetter]:
    """Move dead letters back to the main queue: those in ``event_ids``, or all when ``None``.

    Returns what was replayed. Each message is acked from the DLQ only once the broker has
    confirmed its copy in the main queue.
    """
    target = main_queue_of(queue)
    wanted = None if event_ids is None else set(event_ids)
    connection = await aio_pika.connect(amqp_url, timeout=10)
    try:
        channel = await connection.channel(publisher_confirms=True)
        await channel.declare_queue(target, passive=True)
        messages = await _take_all(channel, dlq_name(target), None)
        replayed: list[DeadLetter] = []
        keep: list[AbstractIncomingMessage] = []
        try:
            for message in messages:
                letter = describe(message)
                if wanted is not None and letter.event_id not in wanted:
                    keep.append(message)
                    continue
                result = await channel.default_exchange.publish(
                    _replay_copy(message), routing_key=target, mandatory=True, timeout=10
                )
                if not isinstance(result, aiormq.spec.Basic.Ack):
                    raise RuntimeError(f"the broker did not take the copy of {letter.event_id}")
                await message.ack()
                replayed.append(letter)
        finally:
            for message in keep:
                await message.reject(requeue=True)
        return replayed
    finally:
        await connection.close()


def _replay_copy(message: AbstractIncomingMessage) -> aio_pika.Message:
    headers = copy_headers(message.headers, drop=(*FAILURE_HEADERS, QUEUE_HEADER))
    headers[REPLAYED_AT_HEADER] = datetime.now(UTC).isoformat()
    return aio_pika.Message(
        body=message.body,
        headers=headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        delivery_mode=DeliveryMode.PERSISTENT,
        message_id=message.message_id,
        correlation_id=message.correlation_id,
        timestamp=message.timestamp,
        type=message.type,
        app_id=message.app_id,
    )
