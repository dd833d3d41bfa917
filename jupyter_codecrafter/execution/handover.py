"""Which server instances exist, so each stands by for the others' events.

Every instance lists itself in a hash of the bus (instance id -> when it last said so) and,
every ``beat_s``, stands by on the event queue of every instance listed. RabbitMQ keeps one
consumer of each queue active, its own instance's first; when that instance dies, one that
stands by takes over its events at once (see ``writer.py``). An instance silent for
``forget_after_s`` (far longer than any run) is forgotten once its queue is empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from ..bus.base import Bus
from ..errors import CodeCrafterError
from ..utils import cancel_and_wait
from .queue.base import JobQueue

log = logging.getLogger("jupyter_codecrafter.execution")

INSTANCES_KEY = "codecrafter:event-instances"
BEAT_S = 2.0
FORGET_AFTER_S = 3600.0


class EventHandover:
    def __init__(
        self,
        bus: Bus,
        queue: JobQueue,
        instance_id: str,
        *,
        beat_s: float = BEAT_S,
        forget_after_s: float = FORGET_AFTER_S,
    ) -> None:
        self._bus = bus
        self._queue = queue
        self._instance_id = instance_id
        self._beat_s = beat_s
        self._forget_after_s = forget_after_s
        self._seen: dict[str, float] = {}  # other instance -> when it last said it exists
        self._watched: set[str] = set()  # the instances this one stands by for
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._tick()
        self._task = asyncio.create_task(self._run(), name="codecrafter-event-handover")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
        with contextlib.suppress(CodeCrafterError):
            await self._bus.hash_delete(INSTANCES_KEY, self._instance_id)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._beat_s)
            try:
                await self._tick()
            except (CodeCrafterError, OSError, TimeoutError):  # the bus or broker comes back
                log.warning("Standing by for other instances' events failed", exc_info=True)

    async def _tick(self) -> None:
        now = time.time()
        await self._bus.hash_set(
            INSTANCES_KEY, self._instance_id, str(now).encode(), ttl_s=2 * self._forget_after_s
        )
        for instance_id, raw in (await self._bus.hash_get_all(INSTANCES_KEY)).items():
            if instance_id != self._instance_id:
                self._seen[instance_id] = max(self._seen.get(instance_id, 0.0), _seconds(raw))
        # Absent counts as silent: a Redis that restarted empty lists nobody for a moment.
        for instance_id, last in list(self._seen.items()):
            if now - last > self._forget_after_s:
                await self._forget(instance_id)
            elif instance_id not in self._watched:
                await self._queue.stand_by(instance_id)
                self._watched.add(instance_id)

    async def _forget(self, instance_id: str) -> None:
        if await self._queue.release(instance_id):
            self._watched.discard(instance_id)
            del self._seen[instance_id]
            await self._bus.hash_delete(INSTANCES_KEY, instance_id)


def _seconds(raw: bytes) -> float:
    try:
        return float(raw)
    except ValueError:
        return 0.0
