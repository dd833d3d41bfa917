"""The activity log: security and audit events, kept 30 days.

Entries are ``level, message, user, session, metadata, timestamp``. MongoDB drops old ones
with a TTL index; every store is also purged by :class:`Housekeeping` (the only way for
SQLite), which the server runs periodically.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from .errors import CodeCrafterError, StoreError
from .store.base import Store
from .store.records import ActivityEntry
from .utils import new_id, utcnow

log = logging.getLogger("jupyter_codecrafter.activity")

ACTIVITY_RETENTION = timedelta(days=30)


class ActivityLog:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def record(
        self,
        message: str,
        *,
        level: str = "info",
        user_id: str | None = None,
        session_id: str | None = None,
        **metadata: Any,
    ) -> None:
        """Keep one entry; a store failure is logged, never raised to the caller's request.

        ``metadata`` must never hold secrets (passwords, tokens): entries are readable by
        admins. None values are left out.
        """
        entry = ActivityEntry(
            id=new_id(),
            level=level,
            message=message,
            timestamp=utcnow(),
            user_id=user_id,
            session_id=session_id,
            metadata={key: value for key, value in metadata.items() if value is not None},
        )
        try:
            await self._store.activity.add(entry)
        except StoreError:
            log.warning("could not record activity %r", message, exc_info=True)

    async def list(
        self, *, user_id: str | None = None, session_id: str | None = None, limit: int = 100
    ) -> list[ActivityEntry]:
        """Newest first."""
        return await self._store.activity.list(user_id=user_id, session_id=session_id, limit=limit)

    async def purge(self, now: datetime | None = None) -> int:
        """Delete entries older than the retention period; how many."""
        return await self._store.activity.purge((now or utcnow()) - ACTIVITY_RETENTION)


class Housekeeping:
    """Periodically purge expired activity entries and refresh tokens."""

    def __init__(self, store: Store, activity: ActivityLog, *, interval_s: float) -> None:
        self._store = store
        self._activity = activity
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and self._interval_s > 0:
            self._task = asyncio.create_task(self._run(), name="codecrafter-housekeeping")

    async def stop(self) -> None:
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_once(self) -> tuple[int, int]:
        """(activity entries, refresh tokens) deleted."""
        now = utcnow()
        entries = await self._activity.purge(now)
        tokens = await self._store.tokens.purge_expired(now)
        if entries or tokens:
            log.info("purged %d activity entries and %d refresh tokens", entries, tokens)
        return entries, tokens

    async def _run(self) -> None:
        while True:
            try:
                await self.run_once()
            except CodeCrafterError:
                # The store may be briefly down; the next round tries again.
                log.warning("housekeeping failed", exc_info=True)
            await asyncio.sleep(self._interval_s)
