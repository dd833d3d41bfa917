"""Handler slots of a consumer: at most ``size`` jobs handled at once, first come first
served, and the deliveries still waiting for a slot handed back when consuming stops."""

from __future__ import annotations

import asyncio
from collections import deque


class Slots:
    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[bool]] = deque()

    async def take(self) -> bool:
        """Wait for a slot (in arrival order); False when consuming stopped meanwhile."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        waiter: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        return await waiter

    def give(self) -> None:
        """A handler ended: its slot goes to the first delivery still waiting."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(True)
                return
        self._free += 1

    def refuse_waiting(self) -> None:
        """Consuming stopped: every delivery waiting for a slot goes back to its queue."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(False)
