"""The activity log: security and audit events, kept 30 days."""

from __future__ import annotations

import logging
from typing import Any

from .errors import StoreError
from .store.base import Store
from .store.records import ActivityEntry
from .utils import new_id, utcnow

log = logging.getLogger("jupyter_codecrafter.activity")


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
        """Keep one entry; a store failure is logged, never raised to the caller's request."""
        entry = ActivityEntry(
            id=new_id(),
            level=level,
            message=message,
            timestamp=utcnow(),
            user_id=user_id,
            session_id=session_id,
            metadata=metadata,
        )
        try:
            await self._store.activity.add(entry)
        except StoreError:
            log.warning("could not record activity %r", message, exc_info=True)
