"""Small helpers every layer uses: clock, identifiers, private files, stopping tasks."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def utcnow() -> datetime:
    """The current UTC time, truncated to milliseconds so every store round-trips it exactly."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id() -> str:
    """A new random identifier (32 lowercase hex characters)."""
    return uuid.uuid4().hex


def private_dir(path: Path) -> Path:
    """``path`` as a directory only this user can enter (0700), created if missing."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file only this user can read (0600), created empty if missing, in a
    private directory. It keeps secrets from other accounts, not from code running as this
    user: that is what the sandboxes are for."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return path


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until they end, cancelling again those that run on.

    A loop may swallow one cancellation: Python 3.11's ``asyncio.wait_for`` (in our code
    and in drivers) drops one that lands just as its inner future completes, and a stop
    that awaited such a loop once would wait for ever. The current task is skipped.
    """
    pending = [task for task in tasks if task is not asyncio.current_task()]
    while pending:
        for task in pending:
            task.cancel()
        await asyncio.wait(pending, timeout=0.1)
        pending = [task for task in pending if not task.done()]


class Deferred:
    """``action()`` called once ``delay_s`` has passed, unless cancelled before: a busy mark
    that only shows for what is still busy by then, instead of flickering on quick work."""

    def __init__(self, delay_s: float, action: Callable[[], Awaitable[None]]) -> None:
        self._task: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(delay_s, self._fire, action)

    def _fire(self, action: Callable[[], Awaitable[None]]) -> None:
        self._task = asyncio.ensure_future(action())

    def cancel(self) -> None:
        """Never call it, if it was not called yet (a call under way goes on)."""
        self._timer.cancel()

    async def settle(self) -> bool:
        """Cancel it, or wait for it to end if it was called; whether it was."""
        self.cancel()
        if self._task is None:
            return False
        await self._task
        return True
