"""The broker side of the in-process queue: the queues themselves, shared by every handle."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from dataclasses import dataclass

from ...errors import QueueFull
from ._options import QueueOptions
from .base import JobMessage


@dataclass(eq=False, slots=True)
class Envelope:
    """A job waiting or in flight, with what the broker knows about it."""

    message: JobMessage
    deliveries: int = 0
    worker_id: str | None = None  # the worker queue it waits in, None for the shared queue
    expires_at: float | None = None  # monotonic; when it leaves a worker queue for the shared one
    handoff: asyncio.Future[None] | None = None  # what enqueue awaits (see memory.py)

    def begun(self) -> None:
        """Its handler began it (or will not soon): the enqueue awaiting it may return."""
        if self.handoff is not None and not self.handoff.done():
            self.handoff.set_result(None)


class MemoryBroker:
    """The shared queue, one queue per worker and the dead letters, for one process.

    Like RabbitMQ's queues it counts deliveries, returns a job whose delivery failed to the
    front of its queue, dead-letters it after ``delivery_limit`` deliveries, and moves jobs
    that waited ``worker_queue_ttl_s`` in a worker's queue to the shared queue. Every change
    is synchronous (one event loop), so no job can be lost between two awaits.
    """

    def __init__(self, options: QueueOptions) -> None:
        self.options = options
        self.shared: deque[Envelope] = deque()
        self.workers: dict[str, deque[Envelope]] = {}
        self.dead: deque[JobMessage] = deque()
        self.idle_takers = 0  # consumers with a free slot, waiting for a job
        self._changed = asyncio.Event()

    def put(self, message: JobMessage, worker_id: str | None) -> Envelope:
        """Enqueue, to ``worker_id``'s queue when it has one; QueueFull when full."""
        if worker_id is not None and worker_id in self.workers:
            queue = self.workers[worker_id]
            expires_at = time.monotonic() + self.options.worker_queue_ttl_s
            envelope = Envelope(message, 0, worker_id, expires_at)
        else:
            queue, envelope = self.shared, Envelope(message)
        if len(queue) >= self.options.max_length:
            raise QueueFull()
        queue.append(envelope)
        self._notify()
        return envelope

    def declare_worker(self, worker_id: str) -> None:
        self.workers.setdefault(worker_id, deque())

    async def take(self, worker_id: str) -> Envelope:
        """The next job for ``worker_id``: from its own queue first, else the shared one."""
        while True:
            self.expire()
            envelope = self._pop(worker_id)
            if envelope is not None:
                return envelope
            self.idle_takers += 1
            try:
                await self._wait_for_change(self._until_next_expiry())
            finally:
                self.idle_takers -= 1

    def _pop(self, worker_id: str) -> Envelope | None:
        own = self.workers.get(worker_id)
        if own:
            return own.popleft()
        if self.shared:
            return self.shared.popleft()
        return None

    def settle_failed(self, envelope: Envelope) -> None:
        """A delivery failed: back to the front of its queue, or dead after the limit."""
        if envelope.deliveries >= self.options.delivery_limit:
            self.dead.append(envelope.message)
        elif envelope.worker_id is not None and envelope.worker_id in self.workers:
            self.workers[envelope.worker_id].appendleft(envelope)
        else:
            self.shared.appendleft(envelope)
        self._notify()

    def hand_back(self, worker_id: str) -> int:
        """Move a worker's waiting jobs to the shared queue (never refused: they were
        accepted once already); how many moved."""
        queue = self.workers.get(worker_id, deque())
        moved = list(queue)
        queue.clear()
        for envelope in moved:
            envelope.worker_id = envelope.expires_at = None
        self.shared.extend(moved)
        self._notify()
        return len(moved)

    def expire(self) -> None:
        """Move jobs that waited too long in a worker's queue to the shared queue."""
        now = time.monotonic()
        for queue in self.workers.values():
            while queue and queue[0].expires_at is not None and queue[0].expires_at <= now:
                envelope = queue.popleft()
                envelope.worker_id = envelope.expires_at = None
                self.shared.append(envelope)

    def _until_next_expiry(self) -> float | None:
        deadlines = [q[0].expires_at for q in self.workers.values() if q and q[0].expires_at]
        return max(0.0, min(deadlines) - time.monotonic()) if deadlines else None

    async def take_dead(self) -> JobMessage:
        while not self.dead:
            await self._wait_for_change(None)
        return self.dead.popleft()

    def return_dead(self, message: JobMessage) -> None:
        self.dead.appendleft(message)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_for_change(self, timeout_s: float | None) -> None:
        changed = self._changed
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await changed.wait()
