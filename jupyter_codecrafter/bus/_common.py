"""What both buses share: per-subscriber delivery and time-to-live checks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from ..utils import cancel_and_wait
from .base import Handler, Subscription

log = logging.getLogger(__name__)

# Pub/sub is at-most-once anyway; a subscriber this far behind drops messages instead of
# letting one stuck handler grow the process without bound.
MAX_PENDING_MESSAGES = 10_000


def ttl_ms(ttl_s: float) -> int:
    """A positive time to live in whole milliseconds (at least 1)."""
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s!r}")
    return max(1, round(ttl_s * 1000))


class QueuedSubscription(Subscription):
    """One subscriber: an inbox drained by one task.

    Its handler sees messages in arrival order, a slow handler delays only its own
    subscription, and an exception in it is logged and delivery goes on.
    """

    def __init__(
        self,
        channel: str,
        handler: Handler,
        on_close: Callable[[QueuedSubscription], Awaitable[None]],
    ) -> None:
        self.channel = channel
        self._handler = handler
        self._on_close = on_close
        self._inbox: asyncio.Queue[bytes] = asyncio.Queue(MAX_PENDING_MESSAGES)
        self._closed = False
        self._task = asyncio.create_task(self._drain(), name=f"codecrafter-bus:{channel}")

    @property
    def closed(self) -> bool:
        return self._closed

    def deliver(self, message: bytes) -> None:
        """Queue ``message`` for the handler (never blocks the reader)."""
        if self._closed:
            return
        try:
            self._inbox.put_nowait(message)
        except asyncio.QueueFull:
            log.warning("Subscriber of %r is too far behind; dropping a message", self.channel)

    async def _drain(self) -> None:
        while True:
            message = await self._inbox.get()
            try:
                await self._handler(message)
            except Exception:  # a subscriber's bug must not end its subscription
                log.exception("Handler for channel %r failed", self.channel)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._on_close(self)
        # A handler may close its own subscription; it cannot wait for itself.
        if self._task is asyncio.current_task():
            self._task.cancel()
        else:
            await cancel_and_wait([self._task])
