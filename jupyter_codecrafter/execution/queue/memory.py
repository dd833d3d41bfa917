"""The in-process job queue (embedded mode): the AMQP queue's contract without a broker."""

from __future__ import annotations

import asyncio
import logging

from ...errors import QueueError
from ...utils import cancel_and_wait
from ._memory_broker import Envelope, MemoryBroker
from ._memory_events import EventConsumer, MemoryEvents
from ._options import DEAD_LETTER_RETRY_DELAY_S, QueueOptions
from .base import (
    DeadLetterHandler,
    Delivery,
    EventHandler,
    JobHandler,
    JobMessage,
    JobQueue,
)

log = logging.getLogger(__name__)

# How long enqueue waits at most for an idle consumer to begin the job (see base.py).
HANDOFF_S = 0.005


class MemoryQueue(JobQueue):
    """Jobs and events within one process.

    ``peer()`` gives another handle on the same queues, with consumers of its own (as a second
    connection to RabbitMQ would): the embedded server and worker can each hold one.
    ``namespace`` is accepted for symmetry with ``AmqpQueue``; one process needs none.
    """

    def __init__(self, options: QueueOptions | None = None) -> None:
        self._broker = MemoryBroker(options or QueueOptions())
        self._events = MemoryEvents()  # shared with peers, like the broker
        self._event_consumer: EventConsumer | None = None
        self._consumers: list[asyncio.Task[None]] = []
        self._dead_letter_consumers: list[asyncio.Task[None]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._closed = False

    def peer(self) -> MemoryQueue:
        """Another handle on the same queues, with its own consumers."""
        twin = MemoryQueue(self._broker.options)
        twin._broker = self._broker
        twin._events = self._events
        return twin

    async def start(self) -> None:
        self._closed = False

    async def close(self) -> None:
        self._closed = True
        await self.stop_consuming()
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=self._broker.options.close_timeout_s)
        # Handlers still running are cancelled; their jobs go back to the queue.
        await cancel_and_wait([*self._in_flight, *self._dead_letter_consumers])
        self._dead_letter_consumers.clear()
        consumer, self._event_consumer = self._event_consumer, None
        if consumer is not None:  # what it had not handled goes to the next consumer
            await consumer.close()

    async def enqueue(self, message: JobMessage, *, worker_id: str | None = None) -> None:
        self._check_open()
        idle = self._broker.idle_takers
        envelope = self._broker.put(message, worker_id)
        if idle:
            await _handed_off(envelope)

    async def consume(self, worker_id: str, handler: JobHandler, *, prefetch: int) -> None:
        self._check_open()
        if prefetch < 1:
            raise ValueError(f"prefetch must be at least 1, got {prefetch!r}")
        self._broker.declare_worker(worker_id)
        slots = asyncio.Semaphore(prefetch)
        task = asyncio.create_task(self._consume(worker_id, handler, slots))
        self._consumers.append(task)

    async def _consume(self, worker_id: str, handler: JobHandler, slots: asyncio.Semaphore) -> None:
        while True:
            await slots.acquire()
            try:
                envelope = await self._broker.take(worker_id)
            except BaseException:
                slots.release()
                raise
            task = asyncio.create_task(self._deliver(envelope, handler, slots))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _deliver(
        self, envelope: Envelope, handler: JobHandler, slots: asyncio.Semaphore
    ) -> None:
        envelope.deliveries += 1
        try:
            await handler(Delivery(envelope.message, envelope.deliveries, envelope.begun))
        except asyncio.CancelledError:
            self._broker.settle_failed(envelope)  # like a worker that died
            raise
        except Exception:
            log.exception("Job %s failed in its handler; returning it", envelope.message.job_id)
            self._broker.settle_failed(envelope)
        finally:
            envelope.begun()
            slots.release()

    async def stop_consuming(self) -> None:
        # A consumer takes a job only once it has a slot: none waits here to be handed back.
        await cancel_and_wait(self._consumers)
        self._consumers.clear()

    async def hand_back(self, worker_id: str) -> int:
        self._check_open()
        return self._broker.hand_back(worker_id)

    async def consume_dead_letters(self, handler: DeadLetterHandler) -> None:
        self._check_open()
        task = asyncio.create_task(self._consume_dead(handler))
        self._dead_letter_consumers.append(task)

    async def _consume_dead(self, handler: DeadLetterHandler) -> None:
        while True:
            message = await self._broker.take_dead()
            try:
                await handler(message)
            except Exception:
                log.exception("Dead-letter handler failed for job %s; retrying", message.job_id)
                self._broker.return_dead(message)
                await asyncio.sleep(DEAD_LETTER_RETRY_DELAY_S)

    async def pending(self) -> int:
        self._broker.expire()
        return len(self._broker.shared)

    async def publish_event(self, reply_to: str, event: bytes) -> None:
        self._check_open()
        self._events.publish(reply_to, event)

    async def consume_events(self, instance_id: str, handler: EventHandler) -> None:
        self._check_open()
        if self._event_consumer is None:
            self._event_consumer = EventConsumer(self._events, handler)
        self._events.join(instance_id, self._event_consumer)

    async def stand_by(self, instance_id: str) -> None:
        self._check_open()
        if self._event_consumer is None:
            raise QueueError("Consume this instance's events before standing by for others.")
        self._events.join(instance_id, self._event_consumer)

    async def release(self, instance_id: str) -> bool:
        if self._events.queues.get(instance_id):
            return False
        if self._event_consumer is not None:
            self._events.leave(self._event_consumer, instance_id)
        return True

    async def ping(self) -> None:
        self._check_open()

    def _check_open(self) -> None:
        if self._closed:
            raise QueueError("The job queue is closed.")


async def _handed_off(envelope: Envelope) -> None:
    """Once the consumer that takes ``envelope`` has begun it, or ``HANDOFF_S`` passed."""
    loop = asyncio.get_running_loop()
    envelope.handoff = loop.create_future()
    timer = loop.call_later(HANDOFF_S, envelope.begun)
    try:
        await envelope.handoff
    finally:
        timer.cancel()
        envelope.handoff = None
