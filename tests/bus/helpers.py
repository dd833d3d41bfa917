"""Helpers for the bus suites: a recording subscriber."""

from __future__ import annotations

from tests.waiting import eventually


class Inbox:
    """A handler that records what it receives."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def __call__(self, message: bytes) -> None:
        self.messages.append(message)

    async def wait_for(self, message: bytes, timeout_s: float = 10.0) -> None:
        await eventually(lambda: message in self.messages, timeout_s)
