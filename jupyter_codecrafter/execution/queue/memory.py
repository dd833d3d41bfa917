"""The in-process job queue (embedded mode): the AMQP queue's contract without a broker."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from ...errors import QueueError
from ._memory_broker import Envelope, MemoryBroker
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


class MemoryQueue(JobQueue):
    """Jobs and events within one process.

    ``peer()`` gives another handle on the same queues, with consumers of its own (as a second
    connection to RabbitMQ would): the embedded server and worker can each hold one.
    ``namespace`` is accepted for symmetry with ``AmqpQueue``; one process needs none.
    """

    def __init__(self, options: QueueOptions | None = None) -> None:
        self._broker = MemoryBroker(options or QueueOptions())
        self._events: dict[str, _EventInbox] = {}  # shared with peers, like the broker
        self._consumers: list[asyncio.Task[None]] = []
        self._dead_letter_consumers: list[asyncio.Task[None]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._own_inboxes: list[str] = []
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
        await _cancel_all([*self._in_flight, *self._dead_letter_consumers])
        self._dead_letter_consumers.clear()
        for instance_id in self._own_inboxes:
            inbox = self._events.pop(instance_id, None)
            if inbox is not None:
                await inbox.close()
        self._own_inboxes.clear()

    async def enqueue(self, message: JobMessage, *, worker_id: str | None = None) -> None:
        self._check_open()
        self._broker.put(message, worker_id)

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
            await handler(Delivery(envelope.message, envelope.deliveries))
        except asyncio.CancelledError:
            self._broker.settle_failed(envelope)  # like a worker that died
            raise
        except Exception:
            log.exception("Job %s failed in its handler; returning it", envelope.message.job_id)
            self._broker.settle_failed(envelope)
        finally:
            slots.release()

    async def stop_consuming(self) -> None:
        await _cancel_all(self._consumers)
        self._consumers.clear()

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
        inbox = self._events.get(reply_to)
        if inbox is not None:  # an instance that is gone loses its events, as with RabbitMQ
            inbox.deliver(event)

    async def consume_events(self, instance_id: str, handler: EventHandler) -> None:
        self._check_open()
        previous = self._events.pop(instance_id, None)
        if previous is not None:
            await previous.close()
        self._events[instance_id] = _EventInbox(instance_id, handler)
        self._own_inboxes.append(instance_id)

    async def ping(self) -> None:
        self._check_open()

    def _check_open(self) -> None:
        if self._closed:
            raise QueueError("The job queue is closed.")


class _EventInbox:
    """One instance's events, handled one at a time in publishing order."""

    def __init__(self, instance_id: str, handler: EventHandler) -> None:
        self._instance_id = instance_id
        self._handler = handler
        self._events: asyncio.Queue[bytes] = asyncio.Queue()
        self._task = asyncio.create_task(self._drain())

    def deliver(self, event: bytes) -> None:
        self._events.put_nowait(event)

    async def _drain(self) -> None:
        while True:
            event = await self._events.get()
            try:
                await self._handler(event)
            except Exception:  # one bad event must not stop the others
                log.exception("Event handler of instance %s failed", self._instance_id)

    async def close(self) -> None:
        await _cancel_all([self._task])


async def _cancel_all(tasks: Iterable[asyncio.Task[None]]) -> None:
    """Cancel ``tasks`` and wait until they end (again if a cancellation was swallowed)."""
    pending = [task for task in tasks if task is not asyncio.current_task()]
    while pending:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.1)
        pending = [task for task in pending if not task.done()]
