"""A session's document as it is now, wherever its room is loaded.

A room's edits reach the store a moment after its clients see them (appends run behind,
and wait while the store is down), so the store alone can miss the last edits of a room
loaded on another instance. To read the live document, an instance starts from what it
has (its own room, else the store), publishes a content request carrying its state vector
on the room's channel, and applies each holder's reply: exactly what that holder has and
the requester lacks. A holder silent for CONTENT_TIMEOUT_S (it died without saying so) is
logged and skipped: what it had not stored nor published is lost with it anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from pycrdt import Doc

from ..bus.base import Bus
from ..utils import new_id
from .protocol import ProtocolError
from .replication import Kind, decode_envelope, encode_envelope, room_channel

log = logging.getLogger("jupyter_codecrafter.rooms")

CONTENT_TIMEOUT_S = 2.0


async def catch_up(
    bus: Bus, session_id: str, instance_id: str, doc: Doc[Any], holders: set[str]
) -> None:
    """Apply to ``doc`` what each of ``holders`` has of the session and ``doc`` lacks."""
    request_id = new_id().encode()
    replies: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    async def on_message(data: bytes) -> None:
        with contextlib.suppress(ProtocolError, IndexError):
            kind, origin, parts = decode_envelope(data)
            if kind is Kind.CONTENT_REPLY and parts[0] == request_id:
                replies.put_nowait((origin, parts[1]))

    channel = room_channel(session_id)
    subscription = await bus.subscribe(channel, on_message)
    try:
        request = encode_envelope(Kind.CONTENT_REQUEST, instance_id, request_id, doc.get_state())
        await bus.publish(channel, request)
        await _apply_replies(doc, replies, set(holders), session_id)
    finally:
        await subscription.close()


async def _apply_replies(
    doc: Doc[Any], replies: asyncio.Queue[tuple[str, bytes]], waiting: set[str], session_id: str
) -> None:
    try:
        async with asyncio.timeout(CONTENT_TIMEOUT_S):
            while waiting:
                origin, update = await replies.get()
                with contextlib.suppress(ValueError):  # a damaged reply costs its edits only
                    doc.apply_update(update)
                waiting.discard(origin)
    except TimeoutError:
        log.warning("No content of room %s from instances %s", session_id, sorted(waiting))
