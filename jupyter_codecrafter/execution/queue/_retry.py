"""Handling an event until it is handled, shared by both event queues (kept apart from
``_amqp_events`` so that the in-memory queue needs no aio-pika)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from .base import EventDelivery, EventHandler

log = logging.getLogger(__name__)

# A handler that failed (the store or the rooms are down) gets the event again after this
# long, doubling up to the maximum.
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0


async def retry_until_handled(handler: EventHandler, batch: Sequence[EventDelivery]) -> None:
    """Call ``handler`` until it returns, pausing longer after each failure; give up only
    on the events that are no longer ours (another consumer has them)."""
    pause_s = RETRY_FIRST_S
    while batch := [delivery for delivery in batch if delivery.held()]:
        try:
            await handler(batch)
            return
        except Exception:
            log.warning("Handling events failed; retrying in %.1f s", pause_s, exc_info=True)
        await asyncio.sleep(pause_s)
        pause_s = min(RETRY_MAX_S, pause_s * 2)
