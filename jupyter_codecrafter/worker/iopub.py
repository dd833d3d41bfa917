"""Everything a kernel publishes, read once: the running execute gets its own messages in
its :class:`Inbox`, and each listener (the session's kernel channel bridge) gets every
message. A second subscription would decode each message twice, on the loop that also
serves the rooms.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient

from ..utils import cancel_and_wait

log = logging.getLogger("jupyter_codecrafter.worker")

Listener = Callable[[dict[str, Any]], None]  # must not block: it queues what it needs

# Messages an execute may fall behind the kernel by; past it, outputs are dropped (never the
# status that ends the run), as zmq itself drops past its high-water mark. A flood reaches
# the run's output cap long before, and is then read and dropped quickly.
BACKLOG = 10_000
BAD_MESSAGE_PAUSE_S = 0.01  # after a message that could not be read: never a busy loop


class Inbox:
    """One execute's IOPub messages, in order."""

    def __init__(self, msg_id: str) -> None:
        self.msg_id = msg_id
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    def offer(self, msg: dict[str, Any]) -> None:
        if msg["parent_header"].get("msg_id") != self.msg_id:
            return  # another client's request, or an earlier, interrupted execute
        if self._queue.qsize() < BACKLOG or msg["msg_type"] == "status":
            self._queue.put_nowait(msg)

    async def get(self, timeout_s: float) -> dict[str, Any]:
        """The next message (TimeoutError when none comes within ``timeout_s``)."""
        async with asyncio.timeout(timeout_s):
            return await self._queue.get()


class IOPubReader:
    def __init__(self) -> None:
        self.heard_at = time.monotonic()  # when the kernel last published anything
        self.inbox: Inbox | None = None  # the running execute's
        self._listeners: list[Listener] = []
        self._task: asyncio.Task[None] | None = None

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Pass every message to ``listener`` from now on; returns what stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def start(self, client: AsyncKernelClient) -> None:
        self._task = asyncio.create_task(self._read(client), name="codecrafter-kernel-iopub")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None

    async def _read(self, client: AsyncKernelClient) -> None:
        while True:
            try:
                msg = await client.get_iopub_msg()
            except Exception:  # the sandbox may send anything; a bad message is skipped
                log.warning("ignoring a message the kernel published", exc_info=True)
                await asyncio.sleep(BAD_MESSAGE_PAUSE_S)
                continue
            self.heard_at = time.monotonic()
            self._dispatch(msg)

    def _dispatch(self, msg: dict[str, Any]) -> None:
        if self.inbox is not None:
            self.inbox.offer(msg)
        for listener in list(self._listeners):
            try:
                listener(msg)
            except Exception:  # a listener's failure must not end the reading
                log.warning("an IOPub listener failed", exc_info=True)
