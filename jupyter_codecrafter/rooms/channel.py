"""One client's seat in a room: its role, its outgoing queue, what it was told.

Messages to a client go through a bounded queue drained by the client's own task, so a
slow or dead socket delays nobody else: when its queue is full the client is closed
(CLOSE_TRY_AGAIN_LATER; a Yjs client reconnects and re-syncs).

Updates that queued up behind a write in flight go out merged into one: a client that falls
behind (a room of 200, a busy server) catches up in one frame instead of one per keystroke.

A write in flight is never cancelled: closing the socket ends it. Cancelling it would leave
a transport with half a frame written, and tornado logs every cancelled write as an error.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..store.records import SessionRole
from .identity import Connection, Identity
from .protocol import CLOSE_GOING_AWAY, CLOSE_TRY_AGAIN_LATER, coalesce_updates, encode_control

log = logging.getLogger("jupyter_codecrafter.rooms")

DEFAULT_SEND_QUEUE = 1024
CLOSE_TIMEOUT_S = 5.0

READ_ONLY_NOTICE = {
    "type": "read_only",
    "message": "You have read-only access to this session; your changes are not saved.",
}


class ClientChannel:
    def __init__(
        self,
        conn: Connection,
        identity: Identity,
        role: SessionRole,
        *,
        on_lost: Callable[[ClientChannel], None],
        max_queue: int = DEFAULT_SEND_QUEUE,
    ) -> None:
        self.conn = conn
        self.identity = identity
        self.role = role
        self.told_read_only = False
        self.closed = False
        self._on_lost = on_lost
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(max_queue)
        self._sender = asyncio.create_task(self._send_loop(), name="codecrafter-room-send")
        self._failing: asyncio.Task[None] | None = None
        self._writing = False

    def __repr__(self) -> str:
        return f"<ClientChannel user={self.identity.user_id} role={self.role}>"

    @property
    def can_write(self) -> bool:
        return self.role.rank >= SessionRole.WRITE.rank

    def enqueue(self, message: bytes) -> None:
        """Queue a message; a client whose queue is full is dropped, never waited for."""
        if self.closed:
            return
        try:
            self._queue.put_nowait(message)
        except asyncio.QueueFull:
            if self._failing is None:
                log.warning("Closing a room connection of user %s: too slow", self.identity.user_id)
            self._fail(CLOSE_TRY_AGAIN_LATER, "Too slow to keep up; reconnect.")

    def notify_read_only(self) -> None:
        """Tell a reader, once per connection, that its edits are dropped."""
        if not self.told_read_only:
            self.told_read_only = True
            self.enqueue(encode_control(READ_ONLY_NOTICE))

    async def close(self, code: int, reason: str) -> None:
        """Stop sending and close the socket (idempotent)."""
        if self.closed:
            return
        self._stop_sending()
        try:
            await asyncio.wait_for(self.conn.close(code, reason), CLOSE_TIMEOUT_S)
        except Exception as exc:  # a broken socket is closing anyway
            log.debug("Closing a room connection failed: %s", type(exc).__name__)

    def abandon(self) -> None:
        """Stop sending to a socket that is already closed."""
        self._stop_sending()

    def _stop_sending(self) -> None:
        self.closed = True
        if not self._writing:  # else the loop ends once the closing socket ends the write
            self._sender.cancel()

    async def _send_loop(self) -> None:
        while not self.closed:
            batch = [await self._queue.get()]
            while not self._queue.empty():  # what piled up while the last write was in flight
                batch.append(self._queue.get_nowait())
            for message in coalesce_updates(batch):
                if self.closed or not await self._write(message):
                    return

    async def _write(self, message: bytes) -> bool:
        """Send one message; False when the connection is lost."""
        self._writing = True
        try:
            await self.conn.send(message)
        except Exception as exc:  # any transport failure ends this client only
            log.info("Room connection lost while sending: %s", type(exc).__name__)
            self._fail(CLOSE_GOING_AWAY, "Connection lost.")
            return False
        finally:
            self._writing = False
        return True

    def _fail(self, code: int, reason: str) -> None:
        if self.closed or self._failing is not None:
            return
        self._failing = asyncio.create_task(self._close_and_report(code, reason))

    async def _close_and_report(self, code: int, reason: str) -> None:
        await self.close(code, reason)
        self._on_lost(self)
