"""Helpers for the bus suites: bounded waits instead of sleeps, a recording subscriber."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def eventually(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    """Wait until ``condition()`` holds; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition still false after {timeout_s}s")
        await asyncio.sleep(0.01)


class Inbox:
    """A handler that records what it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def __call__(self, message: bytes) -> None:
        self.messages.append(message)

    async def wait_for(self, message: bytes, timeout_s: float = 10.0) -> None:
        await eventually(lambda: message in self.messages, timeout_s)
