"""The events of one attempt at a job, sent to the server instance that queued it.

Each is numbered (``seq``, from 1) before it is sent, so the writer of the notebook can tell
an event it has from one it lacks, and a lost one leaves a gap it notices (runlog.py).
Events are best effort, since the job's record holds the result; the last one is retried
for a while, as without it the cell would look busy until the next run.

A cell's start is announced only if the run is still silent after ``START_DELAY_S``: the
writer begins a cell with whatever event of a run comes first (writer.py), so a quick
cell's start and first output reach the notebook as one change. That halves the writes,
broadcasts and client updates of a quick run, and keeps them off the cores while the
kernel runs (``bench/warm_cell.py``, ``bench/classroom.py``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from dataclasses import replace

from ..execution.events import EventType, JobEvent
from ..execution.queue.base import JobQueue
from ..logs import current_request_id
from ..store.records import Job
from ..utils import Deferred

log = logging.getLogger("jupyter_codecrafter.worker")

FINISHED_PATIENCE_S = 30.0
RETRY_PAUSE_S = 1.0
START_DELAY_S = 0.1  # a busy mark shown sooner would only flicker on a quick cell


class Emitter:
    def __init__(self, queue: JobQueue, reply_to: str | None, job: Job, attempt: int) -> None:
        self._queue = queue
        self._reply_to = reply_to
        self._job = job
        self._attempt = attempt
        self._seq = 0
        self._start: Deferred | None = None

    async def __call__(self, event: JobEvent) -> None:
        if self._reply_to is None:
            return
        if self._start is not None:
            # A STARTED already numbered when its timer fired goes out first, in seq order.
            await self._start.settle()
        await self._dispatch(self._numbered(event))

    def start_soon(self) -> None:
        """Send STARTED in ``START_DELAY_S``, unless another event goes first."""
        if self._reply_to is not None:
            self._start = Deferred(START_DELAY_S, self._started)

    def cancel_start(self) -> None:
        if self._start is not None:
            self._start.cancel()

    def _started(self) -> Awaitable[None]:
        started = JobEvent(EventType.STARTED, self._job.id, attempt=self._attempt)
        return self._dispatch(self._numbered(started))  # numbered now, before any later event

    def _numbered(self, event: JobEvent) -> JobEvent:
        self._seq += 1  # taken even if sending fails: the gap tells the writer
        return self._addressed(event)

    async def _dispatch(self, event: JobEvent) -> None:
        patience_s = FINISHED_PATIENCE_S if event.type is EventType.FINISHED else 0.0
        await self._send(event, deadline=time.monotonic() + patience_s)

    def _addressed(self, event: JobEvent) -> JobEvent:
        return replace(
            event,
            session_id=self._job.session_id,
            cell_id=self._job.cell_id,
            attempt=self._attempt,
            seq=self._seq,
            queued_at=self._job.queued_at.timestamp(),
            extra={**event.extra, "request_id": current_request_id()},
        )

    async def _send(self, event: JobEvent, *, deadline: float) -> None:
        assert self._reply_to is not None
        while True:
            try:
                await self._queue.publish_event(self._reply_to, event.encode())
                return
            except Exception:  # the broker is away; the store has the result anyway
                if time.monotonic() >= deadline:
                    log.warning("could not publish an event of job %s", event.job_id, exc_info=True)
                    return
            await asyncio.sleep(RETRY_PAUSE_S)
