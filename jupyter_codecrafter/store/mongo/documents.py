"""Y document updates and snapshots, and the activity log, in MongoDB.

A document is one ``document_updates`` entry per update, unique on (session_id, seq), and
its latest snapshot in ``document_snapshots`` (``_id`` = session id). An append takes the
number after the newest update (or snapshot) and inserts; when another process took that
number first, the unique index refuses the insert and the append takes the next. So an
update becomes visible together with its number, and no reader ever sees 3 before 2 (a
separate counter would allow that, and a compaction up to 3 would then hide update 2).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from bson.binary import Binary
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from ...errors import StoreError
from .. import codec
from ..base import ActivityRepository, DocumentRepository
from ..records import ActivityEntry, DocumentState
from .common import Document, MongoRepository, all_of, from_doc, to_doc, translated

MAX_APPEND_ATTEMPTS = 1000  # each failed attempt means another append succeeded
APPEND_LOCKS = 64  # appends to one document are serialized within a process


class MongoDocuments(DocumentRepository, MongoRepository):
    unique = {"seq": "seq", "_id": "session_id"}

    def __init__(
        self, updates: AsyncCollection[Document], snapshots: AsyncCollection[Document]
    ) -> None:
        self._updates = updates
        self._snapshots = snapshots
        # Striped by session id: in-process appends then never race each other, and
        # retries are left to appends from other processes.
        self._append_locks = [asyncio.Lock() for _ in range(APPEND_LOCKS)]

    @translated
    async def append(self, session_id: str, update: bytes) -> int:
        data = Binary(bytes(update))
        async with self._append_locks[hash(session_id) % APPEND_LOCKS]:
            for _ in range(MAX_APPEND_ATTEMPTS):
                seq = await self._last_seq(session_id) + 1
                with contextlib.suppress(DuplicateKeyError):  # taken meanwhile: try the next
                    document = {"session_id": session_id, "seq": seq, "data": data}
                    await self._updates.insert_one(document)
                    return seq
        raise StoreError(f"Could not number an update of {session_id} (too much contention).")

    async def _last_seq(self, session_id: str) -> int:
        # The newest update is read before the snapshot: a compaction in between deletes
        # that update but raises the snapshot's number to at least its number.
        newest = await self._updates.find_one(
            {"session_id": session_id}, {"seq": 1}, sort=[("seq", -1)]
        )
        head = await self._snapshots.find_one({"_id": session_id}, {"upto_seq": 1})
        return max(0 if newest is None else newest["seq"], 0 if head is None else head["upto_seq"])

    @translated
    async def load(self, session_id: str) -> DocumentState:
        # Updates before the snapshot: a compaction in between only makes the snapshot
        # newer, and the updates it covers are then filtered out below, never lost.
        cursor = self._updates.find({"session_id": session_id}).sort("seq", 1)
        updates = await cursor.to_list(None)
        head = await self._snapshots.find_one({"_id": session_id})
        snapshot_seq = 0 if head is None else int(head["upto_seq"])
        kept = [doc for doc in updates if doc["seq"] > snapshot_seq]
        snapshot = None if head is None else bytes(head["snapshot"])
        last_seq = int(kept[-1]["seq"]) if kept else snapshot_seq
        return DocumentState(snapshot, [bytes(doc["data"]) for doc in kept], last_seq)

    @translated
    async def compact(self, session_id: str, snapshot: bytes, upto_seq: int) -> None:
        # Matches only an older snapshot (or none), so a newer one is never replaced: the
        # upsert then collides with it, and the updates it covers may still go.
        with contextlib.suppress(DuplicateKeyError):
            await self._snapshots.update_one(
                {"_id": session_id, "upto_seq": {"$lte": upto_seq}},
                {"$set": {"snapshot": Binary(bytes(snapshot)), "upto_seq": upto_seq}},
                upsert=True,
            )
        await self._updates.delete_many({"session_id": session_id, "seq": {"$lte": upto_seq}})

    @translated
    async def delete(self, session_id: str) -> None:
        await self._updates.delete_many({"session_id": session_id})
        await self._snapshots.delete_one({"_id": session_id})


class MongoActivity(ActivityRepository, MongoRepository):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._activity = collection

    @translated
    async def add(self, entry: ActivityEntry) -> None:
        await self._activity.insert_one(to_doc(entry))

    @translated
    async def list(
        self, *, user_id: str | None = None, session_id: str | None = None, limit: int = 100
    ) -> list[ActivityEntry]:
        if limit <= 0:  # MongoDB reads limit(0) as "no limit"
            return []
        query = all_of(
            None if user_id is None else {"user_id": user_id},
            None if session_id is None else {"session_id": session_id},
        )
        cursor = self._activity.find(query).sort([("timestamp", -1), ("_id", -1)]).limit(limit)
        return [from_doc(ActivityEntry, doc) for doc in await cursor.to_list(None)]

    @translated
    async def purge(self, before: datetime) -> int:
        result = await self._activity.delete_many({"timestamp": {"$lt": codec.utc(before)}})
        return result.deleted_count
