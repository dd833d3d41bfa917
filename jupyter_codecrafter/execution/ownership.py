"""Which worker owns a session's kernel: a claim in the bus cache with a time to live.

The one place both sides decide it. A server routes a session's cell runs to the owner it
reads here, and places a session nobody owns on a live worker before queueing its first run,
so every run of the session waits in that worker's queue in the order it was submitted. A
worker claims a session when it first runs one of its cells, renews the claim with its
heartbeat, takes over a session whose owner is gone, and releases it when the kernel stops.
A claim that nobody renews expires, so a dead worker's sessions move on.
"""

from __future__ import annotations

import random

from ..bus.base import Bus
from ..constants import (
    DEFAULT_WORKER_HEARTBEAT_TTL_S,
    KERNEL_OWNER_KEY_PREFIX,
    WORKER_ALIVE_KEY_PREFIX,
)
from ..health import WORKERS_KEY


class KernelOwnership:
    def __init__(self, bus: Bus, *, ttl_s: float = DEFAULT_WORKER_HEARTBEAT_TTL_S) -> None:
        self._bus = bus
        self._ttl_s = ttl_s

    async def owner(self, session_id: str) -> str | None:
        """The worker that owns the session's kernel now, if any."""
        value = await self._bus.get(_key(session_id))
        return value.decode() if value else None

    async def place(self, session_id: str) -> str | None:
        """The session's owner, claimed now for a live worker if nobody owns it; None when
        no worker process is listed (the embedded worker takes everything in order)."""
        owner = await self.owner(session_id)
        if owner is not None:
            return owner
        live = await live_workers(self._bus)
        return await self.claim(session_id, random.choice(live)) if live else None

    async def claim(self, session_id: str, worker_id: str) -> str:
        """The owner after ``worker_id`` claimed the session if nobody owned it (asked of
        every run on the worker: one round trip)."""
        owner = await self._bus.get_or_set(_key(session_id), worker_id.encode(), ttl_s=self._ttl_s)
        return owner.decode()

    async def take_over(self, session_id: str, worker_id: str) -> None:
        """Claim a session whose owner stopped taking its runs."""
        await self._bus.set(_key(session_id), worker_id.encode(), ttl_s=self._ttl_s)

    async def renew(self, session_id: str, worker_id: str) -> None:
        if not await self._bus.expire(_key(session_id), self._ttl_s):
            await self._bus.set_if_absent(_key(session_id), worker_id.encode(), ttl_s=self._ttl_s)

    async def release(self, session_id: str) -> None:
        await self._bus.delete(_key(session_id))


async def live_workers(bus: Bus) -> list[str]:
    """Worker processes that announced themselves and whose heartbeat has not expired."""
    listed = sorted(await bus.hash_get_all(WORKERS_KEY))
    return [worker for worker in listed if await bus.get(WORKER_ALIVE_KEY_PREFIX + worker)]


def _key(session_id: str) -> str:
    return KERNEL_OWNER_KEY_PREFIX + session_id
