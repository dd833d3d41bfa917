"""A room's document in the store: append what this instance produced, compact safely.

Only updates made on this instance (by its clients or by the server's own edits) are
appended; updates that came from other instances were appended by them. Appends run in one
task per room, merging whatever queued up meanwhile into one row; a failed append is kept
and retried with backoff (it is in the document anyway, so the next snapshot holds it).

An append waits ``APPEND_GATHER_S`` after the update that starts it, so a burst of typing is
one row, not one per keystroke: an append is a store transaction, and at 50 keystrokes a
second it cost the server more than relaying each keystroke to 50 clients. The wait delays
only the store, never a client (the room relays before it persists); what is waiting when
the room stops goes into its snapshot.

Compaction never drops an update this room has not merged: it first loads everything the
store has and applies it (applying a Y update twice is harmless), then writes the full
state as the snapshot, replacing only the rows it loaded (``upto_seq``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from pycrdt import merge_updates

from ..store.base import Store
from ..store.records import DocumentState

log = logging.getLogger("jupyter_codecrafter.rooms")

MAX_BACKOFF_S = 5.0
COMPACTION_DUE = b""  # queued instead of an update: compact, there is nothing to append
APPEND_GATHER_S = 0.1


class RoomPersistence:
    def __init__(
        self,
        store: Store,
        session_id: str,
        *,
        compact_every: int,
        absorb: Callable[[DocumentState], None],
        snapshot: Callable[[], bytes],
    ) -> None:
        self._documents = store.documents
        self._session_id = session_id
        self._compact_every = max(1, compact_every)
        self._absorb = absorb  # applies stored state to the room's document
        self._snapshot = snapshot  # the room's full state as one update
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue()  # None: stop
        self._pending: bytes | None = None  # taken from the queue, not yet appended
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._wake = asyncio.Event()
        self._compacting = asyncio.Lock()
        self.updates_since_snapshot = 0

    async def load(self) -> None:
        """Apply the stored snapshot and updates to the room's document."""
        state = await self._documents.load(self._session_id)
        self._absorb(state)
        self.updates_since_snapshot = len(state.updates)

    def start(self) -> None:
        self._task = asyncio.create_task(
            self._run(), name=f"codecrafter-persist:{self._session_id}"
        )
        self._task.add_done_callback(self._report_crash)

    def _report_crash(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "Saving session %s stopped; its next snapshot still holds every edit",
                self._session_id,
                exc_info=task.exception(),
            )

    def enqueue(self, update: bytes) -> None:
        self._queue.put_nowait(update)

    def count_stored(self) -> None:
        """An update of this room that its maker appended itself: it counts towards the
        next compaction, which the task runs when it is due."""
        self.updates_since_snapshot += 1
        if self.updates_since_snapshot >= self._compact_every:
            self._queue.put_nowait(COMPACTION_DUE)

    async def stop(self, *, persist: bool) -> None:
        """Stop appending; with ``persist``, compact when anything changed since the last
        snapshot (the snapshot holds updates still queued, so they are not lost)."""
        self._stopping = True
        self._queue.put_nowait(None)  # wakes the task if it waits for an update
        self._wake.set()  # ... or for its next retry
        if self._task is not None:
            # Not cancelled: a store call cut off in the middle may leave its connection
            # inside a transaction. An append in flight is short (the store times out).
            await asyncio.wait([self._task])
            self._task = None
        unsaved = self._pending is not None or bool(self._drain())
        if persist and (unsaved or self.updates_since_snapshot > 0):
            await self.compact()

    async def compact(self) -> bool:
        """Merge what the store has, then replace it with one snapshot; whether it worked."""
        async with self._compacting:
            try:
                state = await self._documents.load(self._session_id)
                self._absorb(state)
                await self._documents.compact(self._session_id, self._snapshot(), state.last_seq)
            except Exception as exc:  # the store may be down; the log stays valid meanwhile
                log.warning("Compacting session %s failed: %s", self._session_id, exc)
                return False
            self.updates_since_snapshot = 0
            log.debug("Compacted session %s up to update %d", self._session_id, state.last_seq)
            return True

    async def _run(self) -> None:
        if self.updates_since_snapshot >= self._compact_every:
            await self.compact()
        failures = 0
        while not self._stopping:
            if self._pending is None:
                self._pending = await self._queue.get()
                await self._pause(APPEND_GATHER_S)  # what else is typed meanwhile joins it
            extra = self._drain()
            if self._pending is None:  # the stop marker
                self._pending = merge_updates(*extra) if extra else None
                return
            updates = [update for update in (self._pending, *extra) if update]
            if not updates:  # only COMPACTION_DUE
                self._pending = None
                await self._compact_if_due()
                continue
            self._pending = merge_updates(*updates) if len(updates) > 1 else updates[0]
            if self._stopping:
                return  # what is pending goes into the snapshot at stop
            try:
                await self._documents.append(self._session_id, self._pending)
            except Exception as exc:  # keep the update and retry; never lose the task
                failures += 1
                log.warning(
                    "Saving an update of session %s failed (attempt %d): %s",
                    self._session_id,
                    failures,
                    exc,
                )
                await self._pause(min(MAX_BACKOFF_S, 0.1 * 2**failures))
                continue
            self._pending, failures = None, 0
            self.updates_since_snapshot += 1
            await self._compact_if_due()

    async def _compact_if_due(self) -> None:
        if self.updates_since_snapshot >= self._compact_every:
            await self.compact()

    async def _pause(self, delay_s: float) -> None:
        """Sleep before a retry, unless stopped meanwhile."""
        # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(delay_s):
                await self._wake.wait()

    def _drain(self) -> list[bytes]:
        """Updates waiting in the queue (markers are dropped)."""
        updates = []
        while not self._queue.empty():
            update = self._queue.get_nowait()
            if update:  # not the stop marker, nor COMPACTION_DUE
                updates.append(update)
        return updates
