"""One client's seat in a room: its role, its outgoing messages, what it was told.

A message to a client is written at once, in the turn that produced it, when nothing is
waiting for that client's socket: a broadcast to a room of 200 is 200 socket writes in one
loop, not 200 tasks woken one after another. A write the socket cannot take yet (the client
reads slowly) is waited for, and what comes meanwhile queues behind it; when that queue is
full the client is closed (CLOSE_TRY_AGAIN_LATER; a Yjs client reconnects and re-syncs),
so a slow or dead socket delays nobody else.

Updates that queued up behind a waiting write go out merged into one: a client that falls
behind (a room of 200, a busy server) catches up in one frame instead of one per keystroke.

A write in flight is never cancelled: closing the socket ends it. Cancelling it would leave
a transport with half a frame written, and tornado logs every cancelled write as an error.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

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
        self._queue: deque[bytes] = deque()  # behind the write in flight
        self._max_queue = max_queue
        self._in_flight: asyncio.Future[None] | None = None  # a write the socket has not taken
        self._failing: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<ClientChannel user={self.identity.user_id} role={self.role}>"

    @property
    def _sending(self) -> bool:
        """Neither closed nor closing: once closing, nothing more goes out."""
        return not self.closed and self._failing is None

    @property
    def can_write(self) -> bool:
        return self.role.rank >= SessionRole.WRITE.rank

    def enqueue(self, message: bytes) -> None:
        """Send a message now, or queue it behind the write in flight; a client whose queue
        is full is dropped, never waited for."""
        if not self._sending:
            return
        if self._in_flight is None:
            self._write(message)
        elif len(self._queue) < self._max_queue:
            self._queue.append(message)
        else:
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
        # A write in flight is left to end with its socket (see the module docstring).
        self.closed = True
        self._queue.clear()

    def _write(self, message: bytes) -> None:
        """Hand one message to the socket; wait for it only when the socket cannot take it."""
        try:
            sent = _as_future(self.conn.send(message))
        except Exception as exc:  # any transport failure ends this client only
            self._lost(exc)
            return
        if sent.done():
            self._written(sent)
        else:
            self._in_flight = sent
            sent.add_done_callback(self._written)

    def _written(self, sent: asyncio.Future[None]) -> None:
        self._in_flight = None
        error = sent.exception() if not sent.cancelled() else asyncio.CancelledError()
        if error is not None:
            self._lost(error)
        elif self._queue and self._sending:
            self._flush()

    def _flush(self) -> None:
        """Write what queued up, merged, until a write has to wait again."""
        messages = deque(coalesce_updates(list(self._queue)))
        self._queue.clear()
        while messages and self._in_flight is None and self._sending:
            self._write(messages.popleft())
        self._queue.extendleft(reversed(messages))  # behind the new write in flight

    def _lost(self, error: BaseException) -> None:
        if not self.closed:
            log.info("Room connection lost while sending: %s", type(error).__name__)
            self._fail(CLOSE_GOING_AWAY, "Connection lost.")

    def _fail(self, code: int, reason: str) -> None:
        if self.closed or self._failing is not None:
            return
        self._failing = asyncio.create_task(self._close_and_report(code, reason))

    async def _close_and_report(self, code: int, reason: str) -> None:
        await self.close(code, reason)
        self._on_lost(self)


def _as_future(sent: Awaitable[None]) -> asyncio.Future[None]:
    """A connection's send as a future: a transport's own (often already done), or a task
    for a coroutine."""
    return sent if isinstance(sent, asyncio.Future) else asyncio.ensure_future(sent)
