"""Users and refresh tokens in MongoDB."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from .. import codec
from ..base import RefreshTokenRepository, UserRepository
from ..records import RefreshToken, User
from .common import IS_NULL, Document, MongoRepository, from_doc, to_doc, translated


def _with_lowercase(doc: Document) -> Document:
    """Add the lower-case keys that uniqueness and log-in compare."""
    for name in ("username", "email"):
        if name in doc:
            doc[f"{name}_lc"] = doc[name].lower()
    return doc


class MongoUsers(UserRepository, MongoRepository):
    unique = {"username_lc": "username", "email_lc": "email", "_id": "id"}

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._users = collection

    @translated
    async def create(self, user: User) -> None:
        await self._users.insert_one(_with_lowercase(to_doc(user)))

    @translated
    async def get(self, user_id: str) -> User | None:
        return await self._one({"_id": user_id})

    @translated
    async def get_by_username(self, username: str) -> User | None:
        return await self._one({"username_lc": username.lower()})

    @translated
    async def get_by_login(self, login: str) -> User | None:
        login = login.lower()
        # Usernames first: a username equal to someone's email wins over that email.
        return await self._one({"username_lc": login}) or await self._one({"email_lc": login})

    @translated
    async def update(self, user_id: str, fields: Mapping[str, Any]) -> User | None:
        changes = _with_lowercase(codec.encode_changes(User, fields, key="id"))
        if changes:
            # update_one, not find_one_and_update: nx-27017 answers the latter with None
            # instead of a duplicate-key error when the new email is taken.
            result = await self._users.update_one({"_id": user_id}, {"$set": changes})
            if result.matched_count == 0:
                return None
        return await self._one({"_id": user_id})

    @translated
    async def delete(self, user_id: str) -> bool:
        return (await self._users.delete_one({"_id": user_id})).deleted_count == 1

    @translated
    async def get_many(self, user_ids: Sequence[str]) -> list[User]:
        if not user_ids:
            return []
        docs = await self._users.find({"_id": {"$in": list(user_ids)}}).to_list(None)
        return [from_doc(User, doc) for doc in docs]

    async def _one(self, query: Document) -> User | None:
        doc = await self._users.find_one(query)
        return None if doc is None else from_doc(User, doc)


class MongoRefreshTokens(RefreshTokenRepository, MongoRepository):
    unique = {"token_hash": "token_hash", "_id": "id"}

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._tokens = collection

    @translated
    async def add(self, token: RefreshToken) -> None:
        await self._tokens.insert_one(to_doc(token))

    @translated
    async def get_by_hash(self, token_hash: str) -> RefreshToken | None:
        doc = await self._tokens.find_one({"token_hash": token_hash})
        return None if doc is None else from_doc(RefreshToken, doc)

    @translated
    async def mark_used(self, token_id: str, used_at: datetime) -> bool:
        result = await self._tokens.update_one(
            {"_id": token_id, "used_at": IS_NULL, "revoked_at": IS_NULL},
            {"$set": {"used_at": codec.utc(used_at)}},
        )
        return result.modified_count == 1

    @translated
    async def revoke(self, token_id: str, revoked_at: datetime) -> bool:
        return await self._revoke({"_id": token_id}, revoked_at) == 1

    @translated
    async def revoke_family(self, family_id: str, revoked_at: datetime) -> int:
        return await self._revoke({"family_id": family_id}, revoked_at)

    @translated
    async def revoke_user(
        self, user_id: str, revoked_at: datetime, *, except_family: str | None = None
    ) -> int:
        query: Document = {"user_id": user_id}
        if except_family is not None:
            query["family_id"] = {"$ne": except_family}
        return await self._revoke(query, revoked_at)

    @translated
    async def purge_expired(self, now: datetime) -> int:
        result = await self._tokens.delete_many({"expires_at": {"$lt": codec.utc(now)}})
        return result.deleted_count

    async def _revoke(self, query: Document, revoked_at: datetime) -> int:
        result = await self._tokens.update_many(
            {**query, "revoked_at": IS_NULL}, {"$set": {"revoked_at": codec.utc(revoked_at)}}
        )
        return result.modified_count
