"""Sessions, their collaborators and their invites in MongoDB.

Collaborators live in their own collection (one document per session and user); listing
by ``member_id`` first collects that user's session ids, then queries the sessions.
"""

from __future__ import annotations

import builtins
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from .. import codec
from ..base import InviteRepository, PageCursor, SessionRepository
from ..records import Collaborator, Invite, Session
from .common import (
    IS_NULL,
    Document,
    MongoRepository,
    all_of,
    from_doc,
    page_filter,
    to_doc,
    translated,
)

NEWEST_FIRST = [("created_at", -1), ("_id", -1)]


class MongoSessions(SessionRepository, MongoRepository):
    def __init__(
        self,
        sessions: AsyncCollection[Document],
        collaborators: AsyncCollection[Document],
        invites: AsyncCollection[Document],
    ) -> None:
        self._sessions = sessions
        self._collaborators = collaborators
        self._invites = invites

    @translated
    async def create(self, session: Session) -> None:
        await self._sessions.insert_one(to_doc(session))

    @translated
    async def get(self, session_id: str) -> Session | None:
        doc = await self._sessions.find_one({"_id": session_id})
        return None if doc is None else from_doc(Session, doc)

    @translated
    async def update(self, session_id: str, fields: Mapping[str, Any]) -> Session | None:
        changes = codec.encode_changes(Session, fields, key="id")
        if not changes:
            return await self.get(session_id)
        doc = await self._sessions.find_one_and_update(
            {"_id": session_id}, {"$set": changes}, return_document=ReturnDocument.AFTER
        )
        return None if doc is None else from_doc(Session, doc)

    @translated
    async def delete(self, session_id: str) -> bool:
        # No transaction (a standalone server has none): the session goes first, so a
        # failure midway leaves only unreachable collaborators and invites behind.
        result = await self._sessions.delete_one({"_id": session_id})
        await self._collaborators.delete_many({"session_id": session_id})
        await self._invites.delete_many({"session_id": session_id})
        return result.deleted_count == 1

    @translated
    async def list(
        self,
        *,
        owner_id: str | None = None,
        member_id: str | None = None,
        public: bool | None = None,
        query: str | None = None,
        limit: int = 50,
        before: PageCursor | None = None,
    ) -> builtins.list[Session]:
        if limit <= 0:  # MongoDB reads limit(0) as "no limit"
            return []
        clauses = [
            None if owner_id is None else {"owner_id": owner_id},
            None if member_id is None else await self._member_filter(member_id),
            None if public is None else {"is_public": public},
            None if query is None else {"title": {"$regex": re.escape(query), "$options": "i"}},
            page_filter("created_at", before),
        ]
        cursor = self._sessions.find(all_of(*clauses)).sort(NEWEST_FIRST).limit(limit)
        return [from_doc(Session, doc) for doc in await cursor.to_list(None)]

    async def _member_filter(self, member_id: str) -> Document:
        docs = self._collaborators.find({"user_id": member_id}, {"session_id": 1, "_id": 0})
        session_ids = [doc["session_id"] async for doc in docs]
        return {"_id": {"$in": session_ids}, "owner_id": {"$ne": member_id}}

    @translated
    async def set_collaborator(self, collaborator: Collaborator) -> None:
        doc = to_doc(collaborator, key=None)
        key = {"session_id": doc.pop("session_id"), "user_id": doc.pop("user_id")}
        update = {"$set": {"role": doc["role"]}, "$setOnInsert": {"added_at": doc["added_at"]}}
        try:
            await self._collaborators.update_one(key, update, upsert=True)
        except DuplicateKeyError:  # a concurrent upsert inserted it first: now it matches
            await self._collaborators.update_one(key, update, upsert=True)

    @translated
    async def get_collaborator(self, session_id: str, user_id: str) -> Collaborator | None:
        doc = await self._collaborators.find_one({"session_id": session_id, "user_id": user_id})
        return None if doc is None else from_doc(Collaborator, doc, key=None)

    @translated
    async def list_collaborators(self, session_id: str) -> builtins.list[Collaborator]:
        cursor = self._collaborators.find({"session_id": session_id})
        docs = await cursor.sort([("added_at", 1), ("user_id", 1)]).to_list(None)
        return [from_doc(Collaborator, doc, key=None) for doc in docs]

    @translated
    async def remove_collaborator(self, session_id: str, user_id: str) -> bool:
        query = {"session_id": session_id, "user_id": user_id}
        return (await self._collaborators.delete_one(query)).deleted_count == 1

    @translated
    async def remove_user(self, user_id: str) -> None:
        await self._collaborators.delete_many({"user_id": user_id})


class MongoInvites(InviteRepository, MongoRepository):
    """Invites keyed by their code (``_id``)."""

    unique = {"_id": "code"}

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._invites = collection

    @translated
    async def create(self, invite: Invite) -> None:
        await self._invites.insert_one(to_doc(invite, key="code"))

    @translated
    async def get(self, code: str) -> Invite | None:
        doc = await self._invites.find_one({"_id": code})
        return None if doc is None else from_doc(Invite, doc, key="code")

    @translated
    async def claim(self, code: str, now: datetime) -> Invite | None:
        # One conditional find_one_and_update: the server applies it atomically.
        now = codec.utc(now)
        usable = {
            "_id": code,
            "revoked_at": IS_NULL,
            "$or": [{"expires_at": IS_NULL}, {"expires_at": {"$gt": now}}],
            "$expr": {"$or": [{"$eq": ["$max_uses", None]}, {"$lt": ["$uses", "$max_uses"]}]},
        }
        doc = await self._invites.find_one_and_update(
            usable, {"$inc": {"uses": 1}}, return_document=ReturnDocument.AFTER
        )
        return None if doc is None else from_doc(Invite, doc, key="code")

    @translated
    async def revoke(self, code: str, revoked_at: datetime) -> bool:
        result = await self._invites.update_one(
            {"_id": code, "revoked_at": IS_NULL}, {"$set": {"revoked_at": codec.utc(revoked_at)}}
        )
        return result.modified_count == 1

    @translated
    async def list(self, session_id: str) -> list[Invite]:
        cursor = self._invites.find({"session_id": session_id}).sort(NEWEST_FIRST)
        return [from_doc(Invite, doc, key="code") for doc in await cursor.to_list(None)]
