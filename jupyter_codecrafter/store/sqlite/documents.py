"""Y document updates and snapshots, and the activity log, in SQLite."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...errors import StoreError
from ..base import ActivityRepository, DocumentRepository
from ..records import ActivityEntry, DocumentState
from .database import Database
from .rows import from_row, insert_sql, select_sql, timestamp, to_row


class SQLiteDocuments(DocumentRepository):
    """A head row per document (sequence counter, snapshot) and one row per update."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, session_id: str, update: bytes) -> int:
        # One statement: it takes the write lock before reading the head, so two processes
        # appending at once get distinct, increasing numbers (the head follows by trigger).
        row = await self._db.fetch_one(
            "INSERT INTO document_updates (session_id, seq, data) VALUES (:id, "
            "COALESCE((SELECT last_seq FROM document_heads WHERE session_id = :id), 0) + 1, "
            ":data) RETURNING seq",
            {"id": session_id, "data": bytes(update)},
        )
        if row is None:  # an INSERT with RETURNING always returns its row
            raise StoreError("SQLite returned no sequence number.")
        return int(row["seq"])

    async def load(self, session_id: str) -> DocumentState:
        # One read transaction: the snapshot and the updates come from the same moment.
        async with self._db.transaction("DEFERRED") as tx:
            head = await tx.fetch_one(
                "SELECT snapshot, snapshot_seq FROM document_heads WHERE session_id = ?",
                (session_id,),
            )
            snapshot_seq = 0 if head is None else int(head["snapshot_seq"])
            rows = await tx.fetch_all(
                "SELECT seq, data FROM document_updates WHERE session_id = ? AND seq > ? "
                "ORDER BY seq",
                (session_id, snapshot_seq),
            )
        snapshot = None if head is None or head["snapshot"] is None else bytes(head["snapshot"])
        last_seq = int(rows[-1]["seq"]) if rows else snapshot_seq
        return DocumentState(snapshot, [bytes(row["data"]) for row in rows], last_seq)

    async def compact(self, session_id: str, snapshot: bytes, upto_seq: int) -> None:
        async with self._db.transaction() as tx:
            # A snapshot never replaces a newer one (another server may have compacted).
            await tx.execute(
                "INSERT INTO document_heads (session_id, last_seq, snapshot, snapshot_seq) "
                "VALUES (:id, :seq, :snapshot, :seq) ON CONFLICT (session_id) DO UPDATE SET "
                "snapshot = excluded.snapshot, snapshot_seq = excluded.snapshot_seq, "
                "last_seq = MAX(last_seq, excluded.last_seq) "
                "WHERE excluded.snapshot_seq >= document_heads.snapshot_seq",
                {"id": session_id, "seq": upto_seq, "snapshot": bytes(snapshot)},
            )
            await tx.execute(
                "DELETE FROM document_updates WHERE session_id = ? AND seq <= ?",
                (session_id, upto_seq),
            )

    async def delete(self, session_id: str) -> None:
        async with self._db.transaction() as tx:
            await tx.execute("DELETE FROM document_updates WHERE session_id = ?", (session_id,))
            await tx.execute("DELETE FROM document_heads WHERE session_id = ?", (session_id,))


class SQLiteActivity(ActivityRepository):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, entry: ActivityEntry) -> None:
        row = to_row(entry)
        await self._db.execute(insert_sql("activity", row), row)

    async def list(
        self, *, user_id: str | None = None, session_id: str | None = None, limit: int = 100
    ) -> list[ActivityEntry]:
        if limit <= 0:
            return []
        params: dict[str, Any] = {"user_id": user_id, "session_id": session_id, "limit": limit}
        conditions = [
            f"{name} = :{name}" for name in ("user_id", "session_id") if params[name] is not None
        ]
        sql = select_sql("activity", conditions, "timestamp DESC, id DESC")
        return [from_row(ActivityEntry, row) for row in await self._db.fetch_all(sql, params)]

    async def purge(self, before: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM activity WHERE timestamp < ?", (timestamp(before),)
        )
