"""Users and refresh tokens in SQLite."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..base import RefreshTokenRepository, UserRepository
from ..records import RefreshToken, User
from .database import Database, Params
from .rows import (
    assignments,
    changes_to_row,
    from_row,
    insert_sql,
    timestamp,
    to_row,
    update_sql,
)


def _with_lowercase(row: dict[str, Any]) -> dict[str, Any]:
    """Add the lower-case columns that uniqueness and log-in compare."""
    for name in ("username", "email"):
        if name in row:
            row[f"{name}_lc"] = row[name].lower()
    return row


class SQLiteUsers(UserRepository):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, user: User) -> None:
        row = _with_lowercase(to_row(user))
        await self._db.execute(insert_sql("users", row), row)

    async def get(self, user_id: str) -> User | None:
        return await self._one("SELECT * FROM users WHERE id = ?", (user_id,))

    async def get_by_username(self, username: str) -> User | None:
        return await self._one("SELECT * FROM users WHERE username_lc = ?", (username.lower(),))

    async def get_by_login(self, login: str) -> User | None:
        login = login.lower()
        sql = "SELECT * FROM users WHERE username_lc = ? OR email_lc = ? ORDER BY username_lc = ?"
        # A username that equals someone's email wins over that email: usernames are exact.
        return await self._one(sql + " DESC LIMIT 1", (login, login, login))

    async def update(self, user_id: str, fields: Mapping[str, Any]) -> User | None:
        row = _with_lowercase(changes_to_row(User, fields, key="id"))
        if not row:
            return await self.get(user_id)
        sql = update_sql("users", assignments(row), ["id = :_id"])
        return await self._one(sql, {**row, "_id": user_id})

    async def delete(self, user_id: str) -> bool:
        return await self._db.execute("DELETE FROM users WHERE id = ?", (user_id,)) > 0

    async def get_many(self, user_ids: Sequence[str]) -> list[User]:
        if not user_ids:
            return []
        rows = await self._db.fetch_all(
            "SELECT * FROM users WHERE id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(user_ids)),),
        )
        return [from_row(User, row) for row in rows]

    async def _one(self, sql: str, params: Params) -> User | None:
        row = await self._db.fetch_one(sql, params)
        return None if row is None else from_row(User, row)


class SQLiteRefreshTokens(RefreshTokenRepository):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, token: RefreshToken) -> None:
        row = to_row(token)
        await self._db.execute(insert_sql("refresh_tokens", row), row)

    async def get_by_hash(self, token_hash: str) -> RefreshToken | None:
        row = await self._db.fetch_one(
            "SELECT * FROM refresh_tokens WHERE token_hash = ?", (token_hash,)
        )
        return None if row is None else from_row(RefreshToken, row)

    async def mark_used(self, token_id: str, used_at: datetime) -> bool:
        sql = (
            "UPDATE refresh_tokens SET used_at = ? "
            "WHERE id = ? AND used_at IS NULL AND revoked_at IS NULL"
        )
        return await self._db.execute(sql, (timestamp(used_at), token_id)) == 1

    async def revoke(self, token_id: str, revoked_at: datetime) -> bool:
        return await self._revoke(["id = :id"], {"id": token_id}, revoked_at) == 1

    async def revoke_family(self, family_id: str, revoked_at: datetime) -> int:
        return await self._revoke(["family_id = :family"], {"family": family_id}, revoked_at)

    async def revoke_user(
        self, user_id: str, revoked_at: datetime, *, except_family: str | None = None
    ) -> int:
        conditions = ["user_id = :user"]
        if except_family is not None:
            conditions.append("family_id != :family")
        params = {"user": user_id, "family": except_family}
        return await self._revoke(conditions, params, revoked_at)

    async def purge_expired(self, now: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM refresh_tokens WHERE expires_at < ?", (timestamp(now),)
        )

    async def _revoke(
        self, conditions: list[str], params: dict[str, Any], revoked_at: datetime
    ) -> int:
        sets, conditions = ["revoked_at = :revoked_at"], [*conditions, "revoked_at IS NULL"]
        sql = update_sql("refresh_tokens", sets, conditions, returning=False)
        return await self._db.execute(sql, {**params, "revoked_at": timestamp(revoked_at)})
