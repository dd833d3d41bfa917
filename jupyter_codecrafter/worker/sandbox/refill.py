"""Things made ahead of need (started kernels, spare containers), topped up in the background.

``Refill`` keeps up to ``size`` items ready. Taking one starts its replacement at once, and
several replacements are made side by side (up to ``parallel``), so a burst that empties
the pool is refilled in about the time one item takes, not ``size`` times that.

While the pool is held (:meth:`Refill.held`, by runs in flight), no new make starts: making
competes with those runs for the same cores and daemon, so a burst runs first and the pool
refills after it.

A make is never cancelled: a Docker call or a kernel start cut off half way can leave a
container or a process that nobody knows of. ``close()`` instead lets the makes in flight
finish and discards what they made, with everything still ready.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

log = logging.getLogger("jupyter_codecrafter.worker")

T = TypeVar("T")

RETRY_S = 5.0  # after a failed make, before the pool tries again


class Refill(Generic[T]):
    def __init__(
        self,
        make: Callable[[], Awaitable[T]],
        discard: Callable[[T], Awaitable[None]],
        *,
        size: int,
        parallel: int | None = None,
        what: str = "item",
        on_change: Callable[[int], None] = lambda ready: None,
    ) -> None:
        self._make, self._discard = make, discard
        self.size, self._parallel = size, max(1, parallel or size)
        self._what, self._on_change = what, on_change
        self._ready: list[T] = []
        self._making: set[asyncio.Task[None]] = set()
        self._retry_at = 0.0
        self._holds = 0
        self._started = self._closed = False

    @property
    def ready(self) -> int:
        return len(self._ready)

    def start(self) -> None:
        self._started = True
        self._top_up()

    def take(self) -> T | None:
        """A ready item, if any; its replacement is started now."""
        item = self._ready.pop(0) if self._ready else None
        self._on_change(len(self._ready))
        self._top_up()
        return item

    @contextmanager
    def held(self) -> Iterator[None]:
        """No new make starts inside: the pool refills once nothing holds it."""
        self._holds += 1
        try:
            yield
        finally:
            self._holds -= 1
            self._top_up()

    async def close(self) -> None:
        self._closed = True
        while self._making:  # they discard what they make, now that the pool is closed
            await asyncio.gather(*self._making, return_exceptions=True)
        ready, self._ready = self._ready, []
        await asyncio.gather(*(self._discard_quietly(item) for item in ready))

    def _top_up(self) -> None:
        if not self._started or self._closed or self._holds:
            return
        if time.monotonic() < self._retry_at:
            return
        wanted = self.size - len(self._ready) - len(self._making)
        for _ in range(min(wanted, self._parallel - len(self._making))):
            task = asyncio.create_task(self._make_one(), name=f"codecrafter-refill-{self._what}")
            self._making.add(task)
            task.add_done_callback(self._made)

    def _made(self, task: asyncio.Task[None]) -> None:
        self._making.discard(task)
        self._top_up()

    async def _make_one(self) -> None:
        try:
            item = await self._make()
        except Exception:  # the backend is down: try again later, never crash the worker
            log.warning("could not make a %s ahead", self._what, exc_info=True)
            self._retry_later()
            return
        if self._closed:
            await self._discard_quietly(item)
            return
        self._ready.append(item)
        self._on_change(len(self._ready))

    def _retry_later(self) -> None:
        self._retry_at = time.monotonic() + RETRY_S
        asyncio.get_running_loop().call_later(RETRY_S, self._top_up)

    async def _discard_quietly(self, item: T) -> None:
        try:
            await self._discard(item)
        except Exception:
            log.warning("could not discard a %s made ahead", self._what, exc_info=True)
