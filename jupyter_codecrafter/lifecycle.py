"""Start-up and shutdown of a server instance or a worker.

- :func:`connect_with_retries`: a configured backend that does not answer yet (a container
  still starting) is retried with exponential backoff; after ``backend_connect_timeout_s``
  the process stops with a clear error and a non-zero exit (:class:`StartupFailed`).
- :class:`InFlightRequests`: API requests being answered, finished before backends close.
- :func:`freeze_startup_objects`: what start-up made stays out of full garbage collections.
- :class:`InFlightJobs`: the runs this instance queued whose results it has not written yet.
  On SIGTERM the instance waits for them (bounded), so outputs of runs in flight still reach
  the shared notebooks before its rooms are flushed and closed.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from tenacity import AsyncRetrying, RetryError, retry_if_exception_type, stop_after_delay
from tenacity.wait import wait_exponential_jitter

from .errors import BackendError
from .execution.events import EventType, JobEvent
from .execution.queue.base import (
    DeadLetterHandler,
    EventDelivery,
    EventHandler,
    JobHandler,
    JobMessage,
    JobQueue,
)
from .store.base import Store
from .utils import utcnow

log = logging.getLogger("jupyter_codecrafter.lifecycle")

# A run the store says is over, whose FINISHED event never came (e.g. cancelled before it
# started), stops being waited for after this long.
FINISHED_GRACE_S = 3.0
POLL_S = 0.25


def freeze_startup_objects() -> None:
    """Leave what start-up made (modules, the server or worker, its services: a server has
    about 230 000 objects, alive until exit) out of the garbage collector's full collections.
    Each of those walked them all: a server stalled for up to 150 ms (in a room of 200,
    every client's keystrokes for that long), a worker for 30-60 ms in the middle of a
    class's burst of runs."""
    gc.collect()  # the start-up's garbage is freed, not kept forever
    gc.freeze()


class StartupFailed(SystemExit):
    """Raised out of the event loop on purpose: the process exits with code 1."""

    def __init__(self, message: str) -> None:
        super().__init__(1)
        self.message = message


async def connect_with_retries(
    name: str, connect: Callable[[], Awaitable[None]], *, timeout_s: float
) -> None:
    """``await connect()`` until it succeeds, backing off, for at most ``timeout_s``."""
    started = time.monotonic()
    retrying = AsyncRetrying(
        retry=retry_if_exception_type((BackendError, OSError, TimeoutError)),
        stop=stop_after_delay(max(timeout_s, 0.0)),
        wait=wait_exponential_jitter(initial=0.5, max=10.0),
        before_sleep=lambda state: _log_retry(name, state.attempt_number, state.outcome),
        reraise=False,
    )
    try:
        async for attempt in retrying:
            with attempt:
                await connect()
    except RetryError as exc:
        cause = exc.last_attempt.exception()
        waited = time.monotonic() - started
        raise StartupFailed(
            f"The {name} did not answer after {waited:.0f} s ({cause}). Check its URL and "
            f"that it runs; backend_connect_timeout_s sets how long start-up waits."
        ) from cause


def _log_retry(name: str, attempt: int, outcome: object) -> None:
    error = getattr(outcome, "exception", lambda: None)()
    log.warning("The %s does not answer yet (attempt %d: %s); retrying", name, attempt, error)


class InFlightRequests:
    """API requests being answered, so a stopping instance finishes them before it closes
    the backends they use."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def begin(self) -> None:
        self._count += 1
        self._idle.clear()

    def end(self) -> None:
        self._count -= 1
        if self._count <= 0:
            self._count = 0
            self._idle.set()

    async def finished(self, timeout_s: float) -> bool:
        """Wait until none is in flight (at most ``timeout_s``); whether none is."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
        except TimeoutError:
            log.warning("Stopping with %d requests unanswered", self._count)
            return False
        return True


class InFlightJobs(JobQueue):
    """The execution service's queue, remembering jobs queued here until their FINISHED
    event has been handled. Every other call goes to the real queue."""

    def __init__(self, queue: JobQueue, store: Store) -> None:
        self.inner = queue
        self._store = store
        self._jobs: set[str] = set()

    def __len__(self) -> int:
        return len(self._jobs)

    async def enqueue(self, message: JobMessage, *, worker_id: str | None = None) -> None:
        await self.inner.enqueue(message, worker_id=worker_id)
        self._jobs.add(message.job_id)

    async def consume_events(self, instance_id: str, handler: EventHandler) -> None:
        async def tracked(batch: Sequence[EventDelivery]) -> None:
            await handler(batch)
            for delivery in batch:
                self._forget_if_finished(delivery.body)

        await self.inner.consume_events(instance_id, tracked)

    def _forget_if_finished(self, data: bytes) -> None:
        try:
            event = JobEvent.decode(data)
        except Exception:  # the execution service logs malformed events
            return
        if event.type is EventType.FINISHED:
            self._jobs.discard(event.job_id)

    async def drain(self, timeout_s: float) -> int:
        """Wait until every job queued here has finished and been written (or ``timeout_s``
        passed); how many are still unfinished."""
        deadline = time.monotonic() + timeout_s
        if self._jobs:
            log.info("Waiting for %d runs in flight before stopping", len(self._jobs))
        while self._jobs and time.monotonic() < deadline:
            await self._forget_settled()
            await asyncio.sleep(POLL_S)
        if self._jobs:
            log.warning("Stopping with %d runs unfinished", len(self._jobs))
        return len(self._jobs)

    async def _forget_settled(self) -> None:
        """Drop jobs the store says are over and will send no more events."""
        grace = timedelta(seconds=FINISHED_GRACE_S)
        for job_id in list(self._jobs):
            job = await self._store.jobs.get(job_id)
            if job is None or (
                job.status.is_final
                and (job.started_at is None or (job.finished_at or utcnow()) + grace < utcnow())
            ):
                self._jobs.discard(job_id)

    # Everything else is the real queue's.

    async def start(self) -> None:
        await self.inner.start()

    async def close(self) -> None:
        await self.inner.close()

    async def consume(self, worker_id: str, handler: JobHandler, *, prefetch: int) -> None:
        await self.inner.consume(worker_id, handler, prefetch=prefetch)

    async def stop_consuming(self) -> None:
        await self.inner.stop_consuming()

    async def hand_back(self, worker_id: str) -> int:
        return await self.inner.hand_back(worker_id)

    async def stand_by(self, instance_id: str) -> None:
        await self.inner.stand_by(instance_id)

    async def release(self, instance_id: str) -> bool:
        return await self.inner.release(instance_id)

    async def consume_dead_letters(self, handler: DeadLetterHandler) -> None:
        await self.inner.consume_dead_letters(handler)

    async def pending(self) -> int:
        return await self.inner.pending()

    async def publish_event(self, reply_to: str, event: bytes) -> None:
        await self.inner.publish_event(reply_to, event)

    async def ping(self) -> None:
        await self.inner.ping()
