"""Consumers: one effect per event, retries ending in the DLQ, replay, and the operator CLI."""

from __future__ import annotations

import asyncio

import aio_pika
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from swe_common.events import CloudEvent, Subscription, build_event
from swe_common.events.broker import event_message
from swe_common.events.cli import main
from swe_common.events.dlq import list_dead_letters, replay_dead_letters
from swe_common.testing import eventually, unique_name

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
TYPE = "evtest.note.added"


def counting_handler(schema, *, fail_while=lambda: False, calls=None):
    """A handler that adds one to the aggregate's counter (or raises while ``fail_while()``)."""
    effects = schema.effects

    async def handle(session, event: CloudEvent) -> None:
        if calls is not None:
            calls.append(event.id)
        if fail_while():
            raise RuntimeError(f"boom on {event.id}")
        aggregate = event.data["aggregate"]
        await session.execute(
            pg_insert(effects)
            .values(aggregate=aggregate, count=1)
            .on_conflict_do_update(
                index_elements=[effects.c.aggregate], set_={"count": effects.c.count + 1}
            )
        )

    return handle


async def counts(db, schema) -> dict[str, int]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(sa.select(schema.effects.c.aggregate, schema.effects.c.count))
        return dict(rows.all())


async def start_consumer(
    make_settings, db, schema, runtimes, rabbit, handler, max_batch=100, **overrides
):
    settings = make_settings(**overrides)
    queue = unique_name("evtest.consumer")
    rabbit.consumer_queues(queue, settings.consumer_retry_delays_ms)
    subscription = Subscription(queue, {TYPE: handler}, max_batch=max_batch)
    runtime = runtimes(settings, db, schema.tables, [subscription])
    await runtime.start()
    [consumer] = runtime.consumers
    await asyncio.wait_for(consumer.wait_consuming(), 10)
    return settings, queue, runtime


async def test_the_same_event_delivered_twice_has_one_effect(
    make_settings, db, schema, runtimes, rabbit, handled_count
):
    settings, queue, _ = await start_consumer(
        make_settings, db, schema, runtimes, rabbit, counting_handler(schema)
    )
    event = build_event(source="evtest", type_=TYPE, data={"aggregate": "e-1"}, subject="e-1")
    for _ in range(2):
        await rabbit.publish(settings.events_exchange, event_message(event), TYPE)

    await eventually(lambda: handled_count(queue, TYPE, "duplicate"), timeout=10)
    assert await handled_count(queue, TYPE, "ok") == 1
    assert await counts(db, schema) == {"e-1": 1}


async def test_a_failing_handler_ends_in_the_dlq_and_replay_handles_it_once_fixed(
    make_settings, db, schema, runtimes, rabbit, add_notes, handled_count
):
    broken = True
    calls: list[str] = []
    handler = counting_handler(schema, fail_while=lambda: broken, calls=calls)
    _, queue, _ = await start_consumer(make_settings, db, schema, runtimes, rabbit, handler)
    [event_id] = await add_notes(("f-1", 1))

    letters = await eventually(lambda: list_dead_letters(AMQP_URL, queue), timeout=15)
    assert [letter.event_id for letter in letters] == [event_id]
    assert letters[0].attempts == 3
    assert "boom" in (letters[0].error or "")
    assert letters[0].original_routing_key == TYPE
    assert calls == [event_id] * 3
    assert await handled_count(queue, TYPE, "retried") == 2
    assert await counts(db, schema) == {}

    broken = False
    replayed = await replay_dead_letters(AMQP_URL, queue)
    assert [letter.event_id for letter in replayed] == [event_id]
    await eventually(lambda: handled_count(queue, TYPE, "ok"), timeout=10)
    assert await counts(db, schema) == {"f-1": 1}
    assert await list_dead_letters(AMQP_URL, queue) == []


async def test_a_message_that_is_not_a_cloudevent_goes_straight_to_the_dlq(
    make_settings, db, schema, runtimes, rabbit
):
    calls: list[str] = []
    handler = counting_handler(schema, calls=calls)
    settings, queue, _ = await start_consumer(make_settings, db, schema, runtimes, rabbit, handler)
    await rabbit.publish(
        settings.events_exchange, aio_pika.Message(b"{not json", message_id="junk-1"), TYPE
    )
    letters = await eventually(lambda: list_dead_letters(AMQP_URL, queue), timeout=10)
    assert [(letter.event_id, letter.attempts) for letter in letters] == [("junk-1", 0)]
    assert "not a valid CloudEvent" in (letters[0].error or "")
    assert calls == []


async def test_an_event_type_without_handler_is_acked_and_ignored(
    make_settings, db, schema, runtimes, rabbit, handled_count
):
    calls: list[str] = []
    settings, queue, _ = await start_consumer(
        make_settings, db, schema, runtimes, rabbit, counting_handler(schema, calls=calls)
    )
    # A binding left from an older version of the service, wider than today's handlers.
    channel = await rabbit.connection.channel()
    await (await channel.get_queue(queue)).bind(settings.events_exchange, "evtest.#")
    other = build_event(source="evtest", type_="evtest.thing.happened", data={"aggregate": "h"})
    await rabbit.publish(settings.events_exchange, event_message(other), other.type)

    await eventually(lambda: handled_count(queue, other.type, "ignored"), timeout=10)
    assert calls == []
    assert (await channel.get_queue(queue)).declaration_result.message_count == 0
    await channel.close()


async def test_cli_lists_dead_letters_without_removing_them_and_replays_chosen_ones(
    make_settings, db, schema, runtimes, rabbit, add_notes, capsys
):
    broken = True
    handler = counting_handler(schema, fail_while=lambda: broken)
    _, queue, _ = await start_consumer(
        make_settings, db, schema, runtimes, rabbit, handler, consumer_max_attempts=1
    )
    first, second = await add_notes(("g-1", 1), ("g-2", 1))
    await eventually(lambda: _length_is(list_dead_letters(AMQP_URL, queue), 2), timeout=10)

    for _ in range(2):  # listing twice shows the same: nothing was taken out
        assert await asyncio.to_thread(main, ["dlq", "list", queue, "--amqp-url", AMQP_URL]) == 0
        out = capsys.readouterr().out
        assert f"2 message(s) in {queue}.dlq" in out
        assert first in out and second in out and "boom" in out and TYPE in out

    broken = False
    code = await asyncio.to_thread(
        main, ["dlq", "replay", queue, "--id", first, "--amqp-url", AMQP_URL]
    )
    assert code == 0
    assert "replayed 1 message(s)" in capsys.readouterr().out
    await eventually(lambda: _equal(counts(db, schema), {"g-1": 1}), timeout=10)
    remaining = await list_dead_letters(AMQP_URL, queue)
    assert [letter.event_id for letter in remaining] == [second]

    code = await asyncio.to_thread(main, ["dlq", "replay", queue, "--all", "--amqp-url", AMQP_URL])
    assert code == 0
    await eventually(lambda: _equal(counts(db, schema), {"g-1": 1, "g-2": 1}), timeout=10)
    assert await list_dead_letters(AMQP_URL, queue) == []


async def _length_is(awaitable, n: int) -> bool:
    return len(await awaitable) == n


async def _equal(awaitable, expected) -> bool:
    return await awaitable == expected


async def test_stop_lets_the_handler_in_flight_finish_and_commit(
    make_settings, db, schema, runtimes, rabbit, add_notes, handled_count
):
    entered, release = asyncio.Event(), asyncio.Event()
    count = counting_handler(schema)

    async def slow(session, event):
        entered.set()
        await release.wait()
        await count(session, event)

    _, queue, runtime = await start_consumer(make_settings, db, schema, runtimes, rabbit, slow)
    await add_notes(("s-1", 1))
    await asyncio.wait_for(entered.wait(), 10)

    stopping = asyncio.create_task(runtime.stop())
    await eventually(lambda: _not(runtime.consumers[0].consuming))
    assert not stopping.done()
    release.set()
    await asyncio.wait_for(stopping, 10)

    assert await counts(db, schema) == {"s-1": 1}
    assert await handled_count(queue, TYPE, "ok") == 1
    channel = await rabbit.connection.channel()
    assert (await channel.get_queue(queue)).declaration_result.message_count == 0
    await channel.close()


async def _not(value) -> bool:
    return not value


async def test_one_by_one_events_of_one_aggregate_stay_in_order_while_others_run_concurrently(
    make_settings, db, schema, runtimes, rabbit, add_notes, handled_count
):
    """``max_batch=1``: a transaction per event, different aggregates at once."""
    seen: dict[str, list[int]] = {}
    running = 0
    most_at_once = 0

    async def record(session, event):
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        # Uneven handling times (0-4 ms), so later messages would overtake if they could.
        await asyncio.sleep(int(event.id[:2], 16) % 5 / 1000)
        await session.execute(sa.text("SELECT 1"))
        seen.setdefault(event.data["aggregate"], []).append(event.data["seq"])
        running -= 1

    _, queue, _ = await start_consumer(
        make_settings, db, schema, runtimes, rabbit, record, max_batch=1
    )
    notes = [(f"o-{n % 5}", n // 5) for n in range(200)]
    await add_notes(*notes)

    await eventually(lambda: _equal(handled_count(queue, TYPE, "ok"), 200), timeout=20)
    assert seen == {f"o-{k}": list(range(40)) for k in range(5)}
    assert most_at_once > 1


# -- batches (the default) ------------------------------------------------------------------


async def test_by_default_the_messages_in_hand_are_handled_in_one_transaction_in_order(
    make_settings, db, schema, runtimes, rabbit, handled_count
):
    """No batch handler: each event's own handler, in delivery order, sharing one transaction,
    each seeing what the ones before it wrote and carrying its own correlation id."""
    from swe_common.context import correlation_id_var

    count = counting_handler(schema)
    seen: list[tuple[int, int, int, str | None]] = []
    consumer = None

    async def handle(session, event: CloudEvent) -> None:
        if not seen:  # hold the first one until the rest are in hand
            await eventually(lambda: _at_least(consumer, 29), timeout=10)
        before = await session.scalar(
            sa.select(schema.effects.c.count).where(schema.effects.c.aggregate == "same")
        )
        await count(session, event.model_copy(update={"data": {"aggregate": "same"}}))
        txid = await session.scalar(sa.text("SELECT txid_current()"))
        seen.append((event.data["seq"], before or 0, txid, correlation_id_var.get()))

    settings, queue, runtime = await start_consumer(
        make_settings, db, schema, runtimes, rabbit, handle
    )
    [consumer] = runtime.consumers
    for n in range(30):
        event = build_event(
            source="evtest", type_=TYPE, data={"aggregate": f"t-{n % 3}", "seq": n}
        ).model_copy(update={"correlationid": f"corr-{n}", "partitionkey": f"t-{n % 3}"})
        await rabbit.publish(settings.events_exchange, event_message(event), TYPE)

    await eventually(lambda: _equal(handled_count(queue, TYPE, "ok"), 30), timeout=20)
    assert [seq for seq, *_ in seen] == list(range(30))  # delivery order
    assert [before for _, before, _, _ in seen] == list(range(30))  # each saw the earlier ones
    assert len({txid for _, _, txid, _ in seen[1:]}) == 1  # the 29 held back: one transaction
    assert seen[1][2] != seen[0][2]
    assert [correlation for *_, correlation in seen] == [f"corr-{n}" for n in range(30)]
    assert await counts(db, schema) == {"same": 30}


async def test_by_default_a_poison_event_in_a_batch_goes_to_the_dlq_alone(
    make_settings, db, schema, runtimes, rabbit, handled_count
):
    count = counting_handler(schema)
    consumer = None
    held: list[bool] = []

    async def handle(session, event: CloudEvent) -> None:
        if not held:  # hold the first one until the rest are in hand
            held.append(True)
            await eventually(lambda: _at_least(consumer, 7), timeout=10)
        await count(session, event)
        if event.data["aggregate"] == "q-3":
            raise RuntimeError("poison")

    settings, queue, runtime = await start_consumer(
        make_settings, db, schema, runtimes, rabbit, handle
    )
    [consumer] = runtime.consumers
    events = [note(f"q-{n}") for n in range(8)]
    for event in events:
        await rabbit.publish(settings.events_exchange, event_message(event), TYPE)

    letters = await eventually(lambda: list_dead_letters(AMQP_URL, queue), timeout=20)

    assert [letter.event_id for letter in letters] == [events[3].id]
    await eventually(lambda: _equal(handled_count(queue, TYPE, "ok"), 7), timeout=10)
    assert await counts(db, schema) == {f"q-{n}": 1 for n in range(8) if n != 3}


# -- batch handlers (a faster equivalent) -----------------------------------------------------


def batching(schema, consumer_of, *, hold_until_pending: int, poison: str | None = None):
    """A per-event handler and a batch handler with the same effect (the batch one records the
    size of each batch). Whichever runs first waits until ``hold_until_pending`` messages are in
    hand (its own and those waiting behind it), so the waiting ones are handed over as one
    batch; an event of aggregate ``poison`` fails."""
    count = counting_handler(schema)
    sizes: list[int] = []
    held = False

    async def hold(mine: int) -> None:
        nonlocal held
        if not held:
            held = True
            consumer = consumer_of()
            await eventually(lambda: _at_least(consumer, hold_until_pending - mine), timeout=10)

    async def one(session, event: CloudEvent) -> None:
        await hold(1)
        await count(session, event)
        if event.data["aggregate"] == poison:
            raise RuntimeError("poison")

    async def many(session, events) -> None:
        await hold(len(events))
        sizes.append(len(events))
        for event in events:  # effects first: a failure must roll back the others' too
            await count(session, event)
        if any(event.data["aggregate"] == poison for event in events):
            raise RuntimeError("poison in the batch")

    return one, many, sizes


async def _at_least(consumer, n: int) -> bool:
    return len(consumer._pending) >= n


async def start_batching_consumer(make_settings, db, schema, runtimes, rabbit, one, many):
    settings = make_settings()
    queue = unique_name("evtest.consumer")
    rabbit.consumer_queues(queue, settings.consumer_retry_delays_ms)
    subscription = Subscription(queue, {TYPE: one}, batch_handler=many, max_batch=50)
    runtime = runtimes(settings, db, schema.tables, [subscription])
    await runtime.start()
    [consumer] = runtime.consumers
    await asyncio.wait_for(consumer.wait_consuming(), 10)
    return settings, queue, consumer


def note(aggregate: str) -> CloudEvent:
    return build_event(source="evtest", type_=TYPE, data={"aggregate": aggregate}, subject="b")


async def test_a_batch_counts_duplicates_within_it_and_across_batches_once(
    make_settings, db, schema, runtimes, rabbit, handled_count
):
    consumer = None
    one, many, sizes = batching(schema, lambda: consumer, hold_until_pending=12)
    settings, queue, consumer = await start_batching_consumer(
        make_settings, db, schema, runtimes, rabbit, one, many
    )
    events = [note(f"b-{n}") for n in range(10)]
    for event in [*events, events[3], events[7]]:  # two copies inside the held batch
        await rabbit.publish(settings.events_exchange, event_message(event), TYPE)

    expected = {f"b-{n}": 1 for n in range(10)}
    await eventually(lambda: _equal(counts(db, schema), expected), timeout=15)
    for event in events[:2]:  # and copies arriving after their batch was committed
        await rabbit.publish(settings.events_exchange, event_message(event), TYPE)
    await eventually(lambda: _equal(handled_count(queue, TYPE, "duplicate"), 4), timeout=10)

    assert await handled_count(queue, TYPE, "ok") == 10
    assert await counts(db, schema) == expected
    assert max(sizes) >= 6  # the messages held back were handed over together
    channel = await rabbit.connection.channel()
    assert (await channel.get_queue(queue)).declaration_result.message_count == 0
    await channel.close()


async def test_a_failing_event_in_a_batch_goes_to_the_dlq_alone_and_the_others_count_once(
    make_settings, db, schema, runtimes, rabbit, handled_count
):
    consumer = None
    one, many, sizes = batching(schema, lambda: consumer, hold_until_pending=8, poison="p-3")
    settings, queue, consumer = await start_batching_consumer(
        make_settings, db, schema, runtimes, rabbit, one, many
    )
    events = [note(f"p-{n}") for n in range(8)]
    for event in events:
        await rabbit.publish(settings.events_exchange, event_message(event), TYPE)

    letters = await eventually(lambda: list_dead_letters(AMQP_URL, queue), timeout=20)

    assert [letter.event_id for letter in letters] == [events[3].id]
    assert letters[0].attempts == 3
    assert sizes and max(sizes) >= 4  # the poison really was inside a batch
    await eventually(lambda: _equal(handled_count(queue, TYPE, "ok"), 7), timeout=10)
    assert await counts(db, schema) == {f"p-{n}": 1 for n in range(8) if n != 3}


def test_a_batch_size_below_one_is_refused(schema) -> None:
    import pytest

    handler = counting_handler(schema)
    with pytest.raises(ValueError, match="max_batch"):
        Subscription("evtest.batches", {TYPE: handler}, batch_handler=handler, max_batch=0)
