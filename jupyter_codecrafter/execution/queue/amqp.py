"""The RabbitMQ job queue, through aio-pika.

The connection is robust: when the broker restarts, aio-pika reconnects, declares the queues
again and resumes the consumers. Operations attempted meanwhile fail with QueueError after
``operation_timeout_s`` rather than hang. See ``_amqp_topology`` for the exchanges and queues.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
    ConsumerTag,
    DeliveryMode,
)
from aiormq import spec
from aiormq.exceptions import AMQPError, ChannelInvalidStateError, DeliveryError, PublishError

from ...errors import MalformedMessage, QueueError, QueueFull
from ...utils import cancel_and_wait
from ._amqp_events import AmqpEvents
from ._amqp_topology import CARRIED_DELIVERIES, Topology, delivery_count
from ._options import DEAD_LETTER_RETRY_DELAY_S, QueueOptions
from ._slots import Slots
from .base import (
    DeadLetterHandler,
    Delivery,
    EventHandler,
    JobHandler,
    JobMessage,
    JobQueue,
)

log = logging.getLogger(__name__)

_DEAD_LETTER_PREFETCH = 16
# Set by the quorum queue a job leaves; the queue it moves to counts its own deliveries.
_COUNT_HEADER = "x-delivery-count"
_RECONNECT_INTERVAL_S = 1.0


@contextlib.contextmanager
def _translated(action: str) -> Iterator[None]:
    """Turn aio-pika's and aiormq's errors into QueueError (QueueFull for a rejected publish)."""
    try:
        yield
    except DeliveryError as exc:
        if isinstance(exc.frame, spec.Basic.Nack):  # x-overflow: reject-publish
            raise QueueFull() from exc
        raise QueueError(f"RabbitMQ refused to {action}: {exc}") from exc
    except TimeoutError as exc:
        raise QueueError(f"RabbitMQ did not answer in time ({action}).") from exc
    except (AMQPError, ChannelInvalidStateError, OSError) as exc:
        raise QueueError(f"RabbitMQ failed to {action}: {type(exc).__name__}: {exc}") from exc


class AmqpQueue(JobQueue):
    """Jobs and events on RabbitMQ; ``namespace`` prefixes every queue and exchange name."""

    def __init__(
        self,
        url: str,
        options: QueueOptions | None = None,
        *,
        operation_timeout_s: float = 10.0,
    ) -> None:
        self._url = url
        self._options = options or QueueOptions()
        self._topology = Topology(self._options)
        self._timeout_s = operation_timeout_s
        self._start_lock = asyncio.Lock()
        self._connection: AbstractRobustConnection | None = None
        self._publisher: AbstractRobustChannel | None = None  # publisher confirms on
        self._jobs_exchange: AbstractExchange | None = None
        self._consumers: list[tuple[AbstractQueue, ConsumerTag]] = []
        self._slots: list[Slots] = []
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._events = AmqpEvents(self._topology, self._channel, self._operation)
        self._closed = False

    @contextlib.asynccontextmanager
    async def _operation(self, action: str) -> AsyncIterator[None]:
        """Bound a broker operation in time and translate its errors."""
        with _translated(action):
            async with asyncio.timeout(self._timeout_s):
                yield

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        self._closed = False
        async with self._start_lock:
            if self._connection is not None:
                return
            async with self._operation("connect"):
                connection = await aio_pika.connect_robust(
                    self._url,
                    reconnect_interval=_RECONNECT_INTERVAL_S,
                    client_properties={"connection_name": "codecrafter"},
                )
            try:
                async with self._operation("declare the job queues"):
                    publisher = await connection.channel(
                        publisher_confirms=True, on_return_raises=True
                    )
                    self._jobs_exchange = await self._topology.declare(publisher)
            except BaseException:
                await connection.close()
                raise
            self._connection, self._publisher = connection, publisher

    async def close(self) -> None:
        self._closed = True
        await self.stop_consuming()
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=self._options.close_timeout_s)
        # Handlers still running lose their deliveries: the broker redelivers those jobs.
        await cancel_and_wait(list(self._in_flight))
        await self._events.close()
        connection, self._connection = self._connection, None
        self._publisher = self._jobs_exchange = None
        if connection is not None:
            with contextlib.suppress(AMQPError, ChannelInvalidStateError, OSError, TimeoutError):
                async with asyncio.timeout(self._timeout_s):
                    await connection.close()

    async def ping(self) -> None:
        await self.pending()

    async def _connected(self) -> AbstractRobustConnection:
        """The connection, opened on first use; QueueError once closed."""
        if self._closed:
            raise QueueError("The job queue is closed.")
        await self.start()
        if self._connection is None:
            raise QueueError("The job queue is closed.")
        return self._connection

    async def _publishing(self) -> tuple[AbstractRobustChannel, AbstractExchange]:
        """The channel with publisher confirms, and the jobs exchange."""
        await self._connected()
        if self._publisher is None or self._jobs_exchange is None:
            raise QueueError("The job queue is closed.")
        return self._publisher, self._jobs_exchange

    async def _channel(self, prefetch: int) -> AbstractRobustChannel:
        connection = await self._connected()
        async with self._operation("open a channel"):
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=prefetch)
        return channel

    # -- jobs ----------------------------------------------------------------------------------

    async def enqueue(self, message: JobMessage, *, worker_id: str | None = None) -> None:
        publisher, jobs_exchange = await self._publishing()
        if worker_id is not None:
            async with self._operation("enqueue a job"):
                try:
                    await publisher.default_exchange.publish(
                        _job_body(message),
                        routing_key=self._topology.worker_queue(worker_id),
                        mandatory=True,
                    )
                    return
                except PublishError:
                    pass  # that worker's queue is gone with the worker: any worker will do
        async with self._operation("enqueue a job"):
            await jobs_exchange.publish(
                _job_body(message), routing_key=self._topology.jobs_queue, mandatory=True
            )

    async def consume(self, worker_id: str, handler: JobHandler, *, prefetch: int) -> None:
        if prefetch < 1:
            raise ValueError(f"prefetch must be at least 1, got {prefetch!r}")
        channel = await self._channel(prefetch)
        # Each queue's consumer may hold ``prefetch`` deliveries; the slots keep the handlers
        # running at once to ``prefetch`` in all.
        slots = Slots(prefetch)
        self._slots.append(slots)
        callback = functools.partial(self._on_job, handler, slots)
        async with self._operation("consume jobs"):
            own = await self._topology.declare_worker_queue(channel, worker_id)
            shared = await self._topology.declare_jobs_queue(channel)
            returned = await self._topology.declare_returns_queue(channel)
            for queue in (own, shared, returned):
                self._consumers.append((queue, await queue.consume(callback)))

    async def _on_job(
        self, handler: JobHandler, slots: Slots, message: AbstractIncomingMessage
    ) -> None:
        with self._tracked():
            job = _decode(message)
            if job is None:
                await _settle(message.ack, "drop a malformed job")
                return
            count = delivery_count(message.headers, self._options.delivery_limit)
            if count > self._options.delivery_limit:  # its worker queue's deliveries count too
                await _settle(functools.partial(message.reject, requeue=False), "dead-letter")
                return
            if not await slots.take():  # consuming stopped before it started: hand it back
                await _settle(message.nack, "hand back a job")
                return
            try:
                await handler(Delivery(job, count))
            except asyncio.CancelledError:  # its worker stopped it: another worker's now
                await _settle(message.nack, "hand back a job")
                raise
            except Exception:
                log.exception("Job %s failed in its handler; returning it", job.job_id)
                await _settle(message.nack, "return a job")
                return
            finally:
                slots.give()
            await _settle(message.ack, "acknowledge a job")

    async def stop_consuming(self) -> None:
        for slots in self._slots:
            slots.refuse_waiting()
        self._slots.clear()
        consumers, self._consumers = self._consumers, []
        for queue, tag in consumers:
            try:
                async with self._operation("stop consuming"):
                    await queue.cancel(tag)
            except QueueError:
                # Cancelling removed it from what the robust channel restores; a dead
                # connection has no consumer to cancel on the broker.
                log.warning("Could not cancel consumer %s on %s", tag, queue.name, exc_info=True)

    async def consume_dead_letters(self, handler: DeadLetterHandler) -> None:
        channel = await self._channel(_DEAD_LETTER_PREFETCH)
        async with self._operation("consume dead letters"):
            queue = await self._topology.declare_dead_queue(channel)
            tag = await queue.consume(functools.partial(self._on_dead_letter, handler))
        self._consumers.append((queue, tag))

    async def _on_dead_letter(
        self, handler: DeadLetterHandler, message: AbstractIncomingMessage
    ) -> None:
        with self._tracked():
            job = _decode(message)
            if job is None:
                await _settle(message.ack, "drop a malformed job")
                return
            try:
                await handler(job)
            except Exception:
                log.exception("Dead-letter handler failed for job %s; retrying", job.job_id)
                await asyncio.sleep(DEAD_LETTER_RETRY_DELAY_S)
                await _settle(message.nack, "return a dead letter")
                return
            await _settle(message.ack, "acknowledge a dead letter")

    async def hand_back(self, worker_id: str) -> int:
        _, jobs_exchange = await self._publishing()
        channel = await self._channel(1)
        moved = 0
        try:
            async with self._operation("open a worker's queue"):
                queue = await self._topology.declare_worker_queue(channel, worker_id, robust=False)
            while (message := await self._get(queue)) is not None:
                async with self._operation("hand back a job"):
                    await jobs_exchange.publish(
                        _returned(message, self._options.delivery_limit),
                        routing_key=self._topology.returns_queue,
                    )
                await _settle(message.ack, "acknowledge a job handed back")
                moved += 1
            # Not deleted: quorum queues refuse a conditional delete, and an unconditional
            # one could drop a job routed here meanwhile. It expires once unused.
        finally:
            with contextlib.suppress(AMQPError, ChannelInvalidStateError, OSError):
                await channel.close()
        return moved

    async def _get(self, queue: AbstractQueue) -> AbstractIncomingMessage | None:
        async with self._operation("take a job"):
            return await queue.get(no_ack=False, fail=False)

    async def pending(self) -> int:
        # Shielded: aiormq closes a channel whose call was cancelled, and RabbitMQ then the
        # connection, and with it the publishes of runs in flight. Metrics samplers, which
        # call this, are cancelled at shutdown, while the last runs still send their events.
        return await asyncio.shield(self._count_pending())

    async def _count_pending(self) -> int:
        publisher, _ = await self._publishing()
        # A full declare, not a passive one: RabbitMQ 3.10 answers a passive declare of a
        # quorum queue with a message count of 0.
        async with self._operation("count waiting jobs"):
            shared = await self._topology.declare_jobs_queue(publisher, robust=False)
            returned = await self._topology.declare_returns_queue(publisher, robust=False)
        queues = (shared, returned)
        return sum(int(queue.declaration_result.message_count or 0) for queue in queues)

    @contextlib.contextmanager
    def _tracked(self) -> Iterator[None]:
        """Count the current handler task as in flight, for close() to wait for."""
        task = asyncio.current_task()
        assert task is not None
        self._in_flight.add(task)
        try:
            yield
        finally:
            self._in_flight.discard(task)

    # -- events --------------------------------------------------------------------------------

    async def publish_event(self, reply_to: str, event: bytes) -> None:
        publisher, _ = await self._publishing()
        async with self._operation("publish an event"):
            # Transient: a confirm waits for no disk, and an event lost with a broker restart
            # only delays that cell's outputs until its run's end (see writer.py).
            await publisher.default_exchange.publish(
                aio_pika.Message(event),
                routing_key=self._topology.events_queue(reply_to),
                mandatory=False,  # never declared (no such instance): nobody to write them
            )

    async def consume_events(self, instance_id: str, handler: EventHandler) -> None:
        await self._connected()
        await self._events.consume(instance_id, handler)

    async def stand_by(self, instance_id: str) -> None:
        await self._connected()
        await self._events.stand_by(instance_id)

    async def release(self, instance_id: str) -> bool:
        await self._connected()
        return await self._events.release(instance_id)


def _job_body(message: JobMessage) -> aio_pika.Message:
    return aio_pika.Message(
        message.encode(), content_type="application/json", delivery_mode=DeliveryMode.PERSISTENT
    )


def _returned(message: AbstractIncomingMessage, delivery_limit: int) -> aio_pika.Message:
    headers = {k: v for k, v in (message.headers or {}).items() if k != _COUNT_HEADER}
    # The queue it goes to counts from nothing: carry the failed deliveries it had.
    headers[CARRIED_DELIVERIES] = delivery_count(message.headers, delivery_limit) - 1
    headers.pop("x-death", None)  # counted in the line above
    return aio_pika.Message(
        message.body,
        headers=headers,
        content_type="application/json",
        delivery_mode=DeliveryMode.PERSISTENT,
    )


def _decode(message: AbstractIncomingMessage) -> JobMessage | None:
    try:
        return JobMessage.decode(message.body)
    except MalformedMessage:
        log.error("Dropping a malformed job message from %s", message.routing_key)
        return None


async def _settle(settle: Callable[[], Awaitable[None]], action: str) -> None:
    """Ack, nack or reject; when the channel is gone the broker redelivers anyway."""
    try:
        await settle()
    except (AMQPError, ChannelInvalidStateError, OSError) as exc:
        log.warning("Could not %s (%s); the broker will redeliver it", action, exc)
