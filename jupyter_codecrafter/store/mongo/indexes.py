"""The indexes of every collection, created by :meth:`MongoStore.open` (idempotent).

Lists sort on (time, ``_id``) descending, but no index includes ``_id``: nx-27017, the
stand-in the tests run on, fails every insert into a collection whose compound index names
``_id``. The time-ordered indexes serve the filters and most of the order; MongoDB sorts the
rare ties on ``_id`` in memory, bounded by the page size.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from .common import Document

ACTIVITY_TTL_S = 30 * 24 * 3600  # MongoDB drops activity entries older than this itself


def _index(*keys: tuple[str, int], **options: Any) -> IndexModel:
    return IndexModel(list(keys), **options)


INDEXES: dict[str, list[IndexModel]] = {
    "users": [
        _index(("username_lc", ASCENDING), unique=True),
        _index(("email_lc", ASCENDING), unique=True),
    ],
    "refresh_tokens": [
        _index(("token_hash", ASCENDING), unique=True),
        _index(("family_id", ASCENDING)),
        _index(("user_id", ASCENDING)),
        _index(("expires_at", ASCENDING)),
    ],
    "sessions": [
        _index(("created_at", DESCENDING)),
        _index(("owner_id", ASCENDING), ("created_at", DESCENDING)),
        _index(("is_public", ASCENDING), ("created_at", DESCENDING)),
    ],
    "collaborators": [
        _index(("session_id", ASCENDING), ("user_id", ASCENDING), unique=True),
        _index(("user_id", ASCENDING)),
    ],
    "invites": [_index(("session_id", ASCENDING), ("created_at", DESCENDING))],
    "jobs": [
        _index(("session_id", ASCENDING), ("queued_at", DESCENDING)),
        _index(("user_id", ASCENDING), ("queued_at", DESCENDING)),
    ],
    "document_updates": [_index(("session_id", ASCENDING), ("seq", ASCENDING), unique=True)],
    "activity": [
        # TTL: MongoDB itself deletes entries this old, besides ActivityRepository.purge.
        _index(("timestamp", ASCENDING), expireAfterSeconds=ACTIVITY_TTL_S),
        _index(("user_id", ASCENDING), ("timestamp", DESCENDING)),
        _index(("session_id", ASCENDING), ("timestamp", DESCENDING)),
    ],
}


async def create_indexes(db: AsyncDatabase[Document]) -> None:
    for collection, indexes in INDEXES.items():
        await db[collection].create_indexes(indexes)
