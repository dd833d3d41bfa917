"""Sessions, their collaborators and their invites in SQLite."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..base import InviteRepository, PageCursor, SessionRepository
from ..records import Collaborator, Invite, Session
from .database import Database
from .rows import (
    assignments,
    changes_to_row,
    from_row,
    insert_sql,
    page_clause,
    select_sql,
    timestamp,
    to_row,
    update_sql,
)


class SQLiteSessions(SessionRepository):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, session: Session) -> None:
        row = to_row(session)
        await self._db.execute(insert_sql("sessions", row), row)

    async def get(self, session_id: str) -> Session | None:
        row = await self._db.fetch_one("SELECT * FROM sessions WHERE id = ?", (session_id,))
        return None if row is None else from_row(Session, row)

    async def update(self, session_id: str, fields: Mapping[str, Any]) -> Session | None:
        row = changes_to_row(Session, fields, key="id")
        if not row:
            return await self.get(session_id)
        sql = update_sql("sessions", assignments(row), ["id = :_id"])
        updated = await self._db.fetch_one(sql, {**row, "_id": session_id})
        return None if updated is None else from_row(Session, updated)

    async def delete(self, session_id: str) -> bool:
        async with self._db.transaction() as tx:
            deleted = await tx.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            await tx.execute("DELETE FROM collaborators WHERE session_id = ?", (session_id,))
            await tx.execute("DELETE FROM invites WHERE session_id = ?", (session_id,))
        return deleted > 0

    async def list(
        self,
        *,
        owner_id: str | None = None,
        member_id: str | None = None,
        public: bool | None = None,
        query: str | None = None,
        limit: int = 50,
        before: PageCursor | None = None,
    ) -> list[Session]:
        if limit <= 0:
            return []
        params: dict[str, Any] = {
            "owner_id": owner_id,
            "member_id": member_id,
            "public": None if public is None else int(public),
            "query": None if query is None else query.lower(),
            "limit": limit,
        }
        conditions = [
            condition
            for value, condition in (
                (owner_id, "owner_id = :owner_id"),
                (member_id, _MEMBER_CONDITION),
                (public, "is_public = :public"),
                # instr() takes the query literally: no LIKE wildcards to escape.
                (query, "instr(py_lower(title), :query) > 0"),
            )
            if value is not None
        ]
        page = page_clause("created_at", before, params)
        conditions += [page] if page else []
        sql = select_sql("sessions", conditions, "created_at DESC, id DESC")
        return [from_row(Session, row) for row in await self._db.fetch_all(sql, params)]

    async def set_collaborator(self, collaborator: Collaborator) -> None:
        row = to_row(collaborator)
        sql = insert_sql("collaborators", row) + (
            " ON CONFLICT (session_id, user_id) DO UPDATE SET role = excluded.role"
        )
        await self._db.execute(sql, row)

    async def get_collaborator(self, session_id: str, user_id: str) -> Collaborator | None:
        row = await self._db.fetch_one(
            "SELECT * FROM collaborators WHERE session_id = ? AND user_id = ?",
            (session_id, user_id),
        )
        return None if row is None else from_row(Collaborator, row)

    async def list_collaborators(self, session_id: str) -> builtins.list[Collaborator]:
        rows = await self._db.fetch_all(
            "SELECT * FROM collaborators WHERE session_id = ? ORDER BY added_at, user_id",
            (session_id,),
        )
        return [from_row(Collaborator, row) for row in rows]

    async def remove_collaborator(self, session_id: str, user_id: str) -> bool:
        sql = "DELETE FROM collaborators WHERE session_id = ? AND user_id = ?"
        return await self._db.execute(sql, (session_id, user_id)) > 0

    async def remove_user(self, user_id: str) -> None:
        await self._db.execute("DELETE FROM collaborators WHERE user_id = ?", (user_id,))


_MEMBER_CONDITION = (
    "id IN (SELECT session_id FROM collaborators WHERE user_id = :member_id) "
    "AND owner_id != :member_id"
)


class SQLiteInvites(InviteRepository):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, invite: Invite) -> None:
        row = to_row(invite)
        await self._db.execute(insert_sql("invites", row), row)

    async def get(self, code: str) -> Invite | None:
        row = await self._db.fetch_one("SELECT * FROM invites WHERE code = ?", (code,))
        return None if row is None else from_row(Invite, row)

    async def claim(self, code: str, now: datetime) -> Invite | None:
        # One conditional UPDATE: SQLite's write lock makes it atomic across processes.
        sql = (
            "UPDATE invites SET uses = uses + 1 WHERE code = :code AND revoked_at IS NULL "
            "AND (expires_at IS NULL OR expires_at > :now) "
            "AND (max_uses IS NULL OR uses < max_uses) RETURNING *"
        )
        row = await self._db.fetch_one(sql, {"code": code, "now": timestamp(now)})
        return None if row is None else from_row(Invite, row)

    async def revoke(self, code: str, revoked_at: datetime) -> bool:
        sql = "UPDATE invites SET revoked_at = ? WHERE code = ? AND revoked_at IS NULL"
        return await self._db.execute(sql, (timestamp(revoked_at), code)) == 1

    async def list(self, session_id: str) -> list[Invite]:
        rows = await self._db.fetch_all(
            "SELECT * FROM invites WHERE session_id = ? ORDER BY created_at DESC, code DESC",
            (session_id,),
        )
        return [from_row(Invite, row) for row in rows]
