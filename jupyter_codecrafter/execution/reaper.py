"""The reaper: jobs left in the queue of a worker that is gone go to the other workers.

Every worker lists itself in ``WORKER_QUEUES_KEY`` with the time of its last beat. One whose
beat is older than its heartbeat's time to live is gone (killed, or its host lost); the jobs
waiting in its own queue (cell runs of the sessions it owned, and any it held when it died,
which RabbitMQ returned there) would otherwise wait ``worker_queue_ttl_s`` for the queue to
let them go. Every live worker sweeps now and then: it hands those jobs back to the queue
every worker takes from, which never refuses them (see ``queue/_amqp_topology.py``), and
forgets the worker once its entry is old enough that no server still routes to it.
A run the dead worker had started is redone by the worker that takes it (attempt 2); one
whose workers keep dying is dead-lettered after ``job_delivery_limit`` deliveries and
finalised ``internal_error``.
"""

from __future__ import annotations

import contextlib
import logging
import time

from ..bus.base import Bus
from ..errors import CodeCrafterError
from .queue.base import JobQueue

log = logging.getLogger("jupyter_codecrafter.execution")

# A hash: worker id -> unix time of its last beat. Unlike the health check's list, it stays
# when every worker is gone, so the next one to start still finds their jobs.
WORKER_QUEUES_KEY = "codecrafter:worker-queues"
LISTED_FOR_S = 86_400.0
# After this many heartbeat periods of silence no kernel claim of the worker is left, so no
# server routes to it any more: its entry goes.
FORGET_AFTER_TTLS = 3


class Reaper:
    def __init__(self, bus: Bus, queue: JobQueue, worker_id: str, *, ttl_s: float) -> None:
        self._bus = bus
        self._queue = queue
        self._worker_id = worker_id
        self._ttl_s = ttl_s

    async def beat(self) -> None:
        """This worker is alive (called with its heartbeat)."""
        now = str(time.time()).encode()
        await self._bus.hash_set(WORKER_QUEUES_KEY, self._worker_id, now, ttl_s=LISTED_FOR_S)

    async def leave(self) -> None:
        """This worker stopped and handed back its jobs: nothing to sweep after it."""
        with contextlib.suppress(CodeCrafterError):
            await self._bus.hash_delete(WORKER_QUEUES_KEY, self._worker_id)

    async def sweep(self) -> int:
        """Hand back the jobs of every worker that is gone; how many."""
        moved = 0
        for worker_id, silent_s in await self._silent_workers():
            if silent_s > self._ttl_s:
                moved += await self._hand_back(worker_id)
            if silent_s > FORGET_AFTER_TTLS * self._ttl_s:
                await self._bus.hash_delete(WORKER_QUEUES_KEY, worker_id)
        return moved

    async def _silent_workers(self) -> list[tuple[str, float]]:
        now = time.time()
        beats = await self._bus.hash_get_all(WORKER_QUEUES_KEY)
        return [
            (worker_id, now - _seconds(beat))
            for worker_id, beat in beats.items()
            if worker_id != self._worker_id
        ]

    async def _hand_back(self, worker_id: str) -> int:
        moved = await self._queue.hand_back(worker_id)
        if moved:
            log.info("handed back %d jobs of worker %s, which is gone", moved, worker_id)
        return moved


def _seconds(raw: bytes) -> float:
    try:
        return float(raw)
    except ValueError:
        return 0.0
