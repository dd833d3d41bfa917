"""``input()`` during a cell run: the kernel's input requests go to the user who ran the cell,
and their answer back to the kernel; no answer within the timeout ends the wait.

The kernel asks on its stdin channel, addressed to the client that sent the execute (the
worker's own), so the worker relays: each request goes to an :class:`InputAsker` (which
publishes it to that user's kernel channels, and tells the room the cell waits), and
:meth:`StdinRelay.answer` sends the reply.
On timeout the kernel gets end-of-file (ipykernel raises ``EOFError`` in ``input()``), so the
run goes on and ends as its code decides, after ``on_timeout`` said why. An interrupt while
waiting raises ``KeyboardInterrupt`` in the kernel, as on a desktop.

Time spent waiting for an answer does not count against the run's wall-clock limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from jupyter_client.asynchronous.client import AsyncKernelClient

OnTimeout = Callable[[float], Awaitable[None]]

END_OF_FILE = "\x04"  # ipykernel's input_reply value for "no more input": EOFError


class InputAsker(Protocol):
    async def ask(self, msg: dict[str, Any]) -> None:
        """Pass on the kernel's input_request."""

    async def settled(self) -> None:
        """The request was answered, timed out, or its run ended."""


class StdinRelay:
    def __init__(
        self,
        client: AsyncKernelClient,
        *,
        parent_id: str,
        user_id: str | None,
        timeout_s: float,
        asker: InputAsker,
        on_timeout: OnTimeout,
    ) -> None:
        self.user_id = user_id
        self.waited_s = 0.0  # total time spent waiting for answers
        self._client = client
        self._parent_id = parent_id  # the execute this relay serves
        self._timeout_s = timeout_s
        self._asker = asker
        self._on_timeout = on_timeout
        self._answered: asyncio.Event | None = None  # set while a request waits
        self._task: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> bool:
        return self._answered is not None

    def start(self) -> None:
        self._task = asyncio.create_task(self._relay(), name="codecrafter-stdin")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def answer(self, user_id: str | None, value: str) -> bool:
        """Send ``value`` to the waiting ``input()``, if it asked ``user_id``."""
        if self._answered is None or self._answered.is_set() or user_id != self.user_id:
            return False
        self._client.input(value)
        self._answered.set()
        return True

    async def _relay(self) -> None:
        while True:
            msg = await self._client.get_stdin_msg()
            # A request left over from an earlier execute has nobody waiting for it.
            if msg["parent_header"].get("msg_id") != self._parent_id:
                continue
            if msg["msg_type"] == "input_request":
                await self._wait_for_answer(msg)

    async def _wait_for_answer(self, msg: dict[str, Any]) -> None:
        self._answered = answered = asyncio.Event()
        started = time.monotonic()
        try:
            await self._asker.ask(msg)
            await asyncio.wait_for(answered.wait(), self._timeout_s)
        except TimeoutError:
            await self._on_timeout(self._timeout_s)
            self._client.input(END_OF_FILE)
        finally:
            self._answered = None
            self.waited_s += time.monotonic() - started
            await self._asker.settled()
