"""Bounded waits instead of sleeps, for state that has no event to wait on (a store, a
broker's deliveries, another process)."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


async def eventually(
    condition: Callable[[], bool | Awaitable[bool]],
    timeout_s: float = 15.0,
    interval_s: float = 0.01,
) -> None:
    """Poll ``condition()`` (plain or awaitable) until it holds; fail the test after
    ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not await _holds(condition):
        if time.monotonic() > deadline:
            raise AssertionError(f"condition still false after {timeout_s}s")
        await asyncio.sleep(interval_s)


async def _holds(condition: Callable[[], bool | Awaitable[bool]]) -> bool:
    result = condition()
    return bool(await result) if inspect.isawaitable(result) else bool(result)
