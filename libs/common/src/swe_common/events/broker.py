"""The RabbitMQ side of the event bus: one robust connection per process, the events exchange,
and confirmed publishing of CloudEvents.

A service must start and serve while RabbitMQ is down, so :meth:`Broker.start` never waits for
the broker: a background task keeps trying with exponential backoff (plus jitter) until the first
connection succeeds. From then on aio-pika's robust connection reconnects by itself and restores
the channels, exchanges, queues, bindings and consumers declared through it. ``is_connected``
says whether the broker can be used right now (``/health/ready`` reports it).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping, Sequence
from typing import Any, cast

import aio_pika
import aiormq
import structlog
from aio_pika.abc import (
    AbstractExchange,
    AbstractRobustChannel,
    AbstractRobustConnection,
    DeliveryMode,
    ExchangeType,
)
from aio_pika.connection import make_url

from swe_common.events.envelope import CLOUDEVENTS_CONTENT_TYPE, CloudEvent
from swe_common.settings import ServiceSettings
from swe_common.tasks import cancel_and_wait

log = structlog.stdlib.get_logger(__name__)

# Frames an AMQP connection queues for its socket writer. aiormq's default (10) makes a
# publisher that fills it wait for the writer task, one event-loop turn per 10 frames, and every
# other publisher of the channel wait behind it for its lock: a relay batch of 200 messages took
# 1.7 s instead of 0.36 s in a process whose event loop turns every 5 ms (a busy service). The
# relay's batches and a consumer's acks fit in one turn with this (at most a few hundred kB).
aiormq.Connection.FRAME_BUFFER_SIZE = 1024

# Arguments of every queue this library declares: durable, replicated, FIFO.
QUORUM_QUEUE: dict[str, Any] = {"x-queue-type": "quorum"}


class BrokerUnavailableError(ConnectionError):
    """RabbitMQ is not connected right now; the caller keeps its work and retries later."""


class PublishNotConfirmedError(ConnectionError):
    """The broker did not confirm a message (nack, return or no answer in time)."""


def event_headers(event: CloudEvent) -> dict[str, Any]:
    """AMQP headers of an event message: trace context and the type, for routing-free tools."""
    headers: dict[str, Any] = {"ce-type": event.type, "ce-id": event.id, "ce-source": event.source}
    if event.traceparent:
        headers["traceparent"] = event.traceparent
    if event.correlationid:
        headers["correlation_id"] = event.correlationid
    return headers


def event_message(event: CloudEvent, body: bytes | None = None) -> aio_pika.Message:
    """A persistent AMQP message carrying ``event`` in CloudEvents structured JSON mode
    (``body``: the event's JSON when the caller has it already, as the relay does)."""
    return aio_pika.Message(
        body=event.to_json() if body is None else body,
        content_type=CLOUDEVENTS_CONTENT_TYPE,
        message_id=event.id,
        correlation_id=event.correlationid,
        delivery_mode=DeliveryMode.PERSISTENT,
        timestamp=event.time,
        type=event.type,
        app_id=event.source,
        headers=event_headers(event),
    )


class Backoff:
    """Exponential backoff with full jitter: ``initial, 2*initial, ...`` capped at ``maximum``."""

    def __init__(self, initial: float = 0.5, maximum: float = 30.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * (2**self.attempt))
        self.attempt += 1
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not crypto

    def reset(self) -> None:
        self.attempt = 0


class Broker:
    """One robust AMQP connection, a publisher-confirms channel and the events exchange."""

    def __init__(
        self,
        amqp_url: str,
        exchange_name: str,
        *,
        connection_name: str = "swe",
        connect_timeout: float = 5.0,
        reconnect_interval: float = 2.0,
        publish_timeout: float = 10.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.amqp_url = amqp_url
        self.exchange_name = exchange_name
        self.connection_name = connection_name
        self.connect_timeout = connect_timeout
        self.reconnect_interval = reconnect_interval
        self.publish_timeout = publish_timeout
        self._backoff = backoff or Backoff()
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._ready = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    @classmethod
    def from_settings(cls, settings: ServiceSettings, **kwargs: Any) -> Broker:
        return cls(
            settings.amqp_url.get_secret_value(),
            settings.events_exchange,
            connection_name=settings.service_name,
            **kwargs,
        )

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Begin connecting in the background; returns at once whether or not RabbitMQ is up."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.create_task(self._connect_loop(), name="swe-broker-connect")

    async def _connect_loop(self) -> None:
        while not self._closing:
            try:
                await self._connect_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self._backoff.next_delay()
                log.warning(
                    "amqp_connect_failed",
                    error=_describe(exc),
                    retry_in_seconds=round(delay, 2),
                    attempt=self._backoff.attempt,
                )
                await asyncio.sleep(delay)
            else:
                self._backoff.reset()
                log.info("amqp_connected", exchange=self.exchange_name)
                return

    async def _connect_once(self) -> None:
        url = make_url(self.amqp_url)
        connection = aio_pika.RobustConnection(
            url,
            reconnect_interval=self.reconnect_interval,
            client_properties={"connection_name": self.connection_name},
        )
        try:
            await connection.connect(timeout=self.connect_timeout)
            channel = connection.channel(publisher_confirms=True)
            await channel.initialize(timeout=self.connect_timeout)
            exchange = await channel.declare_exchange(
                self.exchange_name, ExchangeType.TOPIC, durable=True, timeout=self.connect_timeout
            )
        except BaseException:
            await asyncio.shield(_close_quietly(connection))
            raise
        self._connection = connection
        self._channel = channel
        self._exchange = exchange
        self._ready.set()

    async def close(self) -> None:
        self._closing = True
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None
        connection, self._connection = self._connection, None
        self._channel = None
        self._exchange = None
        self._ready.clear()
        if connection is not None:
            await _close_quietly(connection)

    # -- state -----------------------------------------------------------------------------

    @property
    def is_connected(self) -> bool:
        connection = self._connection
        return (
            connection is not None
            and not connection.is_closed
            and connection.connected.is_set()
            and self._channel is not None
            and not self._channel.is_closed
        )

    @property
    def connection(self) -> AbstractRobustConnection:
        if self._connection is None:
            raise BrokerUnavailableError("not connected to RabbitMQ yet")
        return self._connection

    async def wait_connected(self) -> None:
        """Wait until the broker is usable (wrap in ``asyncio.timeout`` to bound the wait)."""
        await self._ready.wait()
        while not self.is_connected:
            connection = self._connection
            if connection is None or connection.connected.is_set():
                # Closed meanwhile, or the transport is back and channels are being restored.
                await asyncio.sleep(0.05)
            else:
                await connection.connected.wait()

    # -- publishing ------------------------------------------------------------------------

    async def publish(self, event: CloudEvent) -> None:
        """Publish ``event`` to the events exchange (routing key = type); return once confirmed."""
        exchange = self._exchange
        if exchange is None or not self.is_connected:
            raise BrokerUnavailableError("not connected to RabbitMQ")
        async with asyncio.timeout(self.publish_timeout):
            result = await exchange.publish(
                event_message(event), routing_key=event.type, mandatory=False
            )
        _check_confirm(result)

    async def publish_many(
        self, events: Sequence[tuple[CloudEvent, bytes | None]]
    ) -> list[BaseException | None]:
        """Publish ``events`` (each with its JSON body when the caller has it) in this order,
        all confirms in flight at once; the outcome of each (``None``: confirmed).

        The frames are queued without waiting for each to be flushed to the socket (aio-pika's
        ``Exchange.publish`` holds the channel's lock until its frame is written, so a batch
        would go out one message per event-loop turn: seconds for 200 messages when the
        process is busy, and a per-message timeout then expired for the last of a batch whose
        confirms were not late at all). ``publish_timeout`` bounds the whole batch, from the
        first send to the last confirm.
        """
        exchange, channel = self._exchange, self._channel
        if exchange is None or channel is None or not self.is_connected:
            raise BrokerUnavailableError("not connected to RabbitMQ")
        # The concrete channel: its basic_publish takes ``wait`` (the abstract one does not).
        underlay = cast(aiormq.Channel, await channel.get_underlay_channel())

        async def one(event: CloudEvent, body: bytes | None) -> None:
            result = await underlay.basic_publish(
                body if body is not None else event.to_json(),
                exchange=self.exchange_name,
                routing_key=event.type,
                properties=event_message(event, b"").properties,
                mandatory=False,
                wait=False,
            )
            _check_confirm(result)

        tasks = [asyncio.ensure_future(one(event, body)) for event, body in events]
        try:
            _, pending = await asyncio.wait(tasks, timeout=self.publish_timeout)
        finally:
            for task in tasks:
                task.cancel()  # no-op for the finished ones
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        outcomes: list[BaseException | None] = []
        for task in tasks:
            if task.cancelled():
                outcomes.append(
                    PublishNotConfirmedError(
                        f"no confirm within {self.publish_timeout} s "
                        f"({len(pending)} of {len(tasks)} in the batch)"
                    )
                )
            else:
                outcomes.append(task.exception())
        return outcomes

    async def send_to_queue(self, queue: str, message: aio_pika.Message) -> None:
        """Publish straight to ``queue`` through the default exchange; return once confirmed.

        Raises when the queue does not exist (mandatory publish returned by the broker).
        """
        channel = self._channel
        if channel is None or not self.is_connected:
            raise BrokerUnavailableError("not connected to RabbitMQ")
        async with asyncio.timeout(self.publish_timeout):
            result = await channel.default_exchange.publish(message, routing_key=queue)
        _check_confirm(result, queue=queue)


def _check_confirm(result: Any, *, queue: str | None = None) -> None:
    if isinstance(result, aiormq.spec.Basic.Ack):
        return
    if isinstance(result, aiormq.abc.DeliveredMessage):
        raise PublishNotConfirmedError(f"message returned by the broker: no queue {queue!r}")
    raise PublishNotConfirmedError(f"broker did not confirm the message: {result!r}")


def _describe(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"


async def _close_quietly(closable: Any) -> None:
    try:
        await closable.close()
    except Exception as exc:  # already closed, broker gone: nothing left to release
        log.debug("amqp_close_failed", error=_describe(exc))


def copy_headers(
    headers: Mapping[str, Any] | None, *, drop: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Headers of a received message minus broker bookkeeping (``x-death`` ...) and ``drop``."""
    result: dict[str, Any] = {}
    for key, value in (headers or {}).items():
        if key == "x-death" or key.startswith(("x-first-death", "x-last-death")) or key in drop:
            continue
        result[key] = value
    return result
