"""Worker heartbeats in the bus cache: a worker whose key expired is gone.

Other workers use this to take over the sessions of a dead worker at once (rather than
waiting for its kernel claims to expire) and to remove the sandboxes it left behind.
"""

from __future__ import annotations

from ..bus.base import Bus
from ..constants import WORKER_ALIVE_KEY_PREFIX


class Liveness:
    def __init__(self, bus: Bus, worker_id: str, *, ttl_s: float) -> None:
        self._bus = bus
        self._key = WORKER_ALIVE_KEY_PREFIX + worker_id
        self.ttl_s = ttl_s

    async def beat(self) -> None:
        """Announce this worker alive for another ``ttl_s``."""
        await self._bus.set(self._key, b"1", ttl_s=self.ttl_s)

    async def is_alive(self, worker_id: str) -> bool:
        return await self._bus.get(WORKER_ALIVE_KEY_PREFIX + worker_id) is not None

    async def stop(self) -> None:
        """Announce a clean exit: others need not wait for the key to expire."""
        await self._bus.delete(self._key)
