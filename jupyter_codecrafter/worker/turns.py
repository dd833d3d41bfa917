"""Cell runs of one session take turns on this worker, in the order they were delivered.

A session's runs wait in one queue in the order they were submitted, but up to
``worker_concurrency`` of them are handled at once; the kernel would run them in whatever
order they reached it. Each takes a ticket when it is delivered (before anything else can
interleave) and starts only once the run before it ended.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class Turns:
    def __init__(self) -> None:
        self._last: dict[str, asyncio.Future[None]] = {}  # session -> the last ticket's end

    def taken(self, session_id: str) -> bool:
        """Whether a run of ``session_id`` holds, or waits for, a turn here."""
        return session_id in self._last

    @asynccontextmanager
    async def turn(self, session_id: str) -> AsyncIterator[None]:
        """Wait for the runs of ``session_id`` delivered before this one to end. The ticket
        is taken when this is entered, before its first await."""
        previous = self._last.get(session_id)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._last[session_id] = mine
        try:
            if previous is not None:
                await asyncio.shield(previous)
            yield
        finally:
            _end_after(mine, previous)
            if self._last.get(session_id) is mine:
                del self._last[session_id]


def _end_after(mine: asyncio.Future[None], previous: asyncio.Future[None] | None) -> None:
    """End this turn, but not before the previous one (if this one gave up waiting)."""
    if previous is None or previous.done():
        mine.set_result(None)
    else:
        previous.add_done_callback(lambda _: mine.set_result(None))
