"""The scaled store: MongoDB through PyMongo's async API."""

from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

from ...errors import StoreError
from ..base import Store
from .accounts import MongoRefreshTokens, MongoUsers
from .common import Document
from .documents import MongoActivity, MongoDocuments
from .indexes import create_indexes
from .jobs import MongoJobs
from .sessions import MongoInvites, MongoSessions

DEFAULT_DATABASE = "codecrafter"


class MongoStore(Store):
    """``MongoStore("mongodb://host/dbname")``; the database is ``codecrafter`` when the URL
    names none. The client connects lazily, so construction never blocks."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self._client: AsyncMongoClient[Document] = AsyncMongoClient(url, tz_aware=True)
        except (PyMongoError, ValueError) as exc:  # pymongo rejects bad URLs with ValueError
            raise StoreError(f"Invalid MongoDB URL: {exc}") from exc
        self.db: AsyncDatabase[Document] = self._client.get_default_database(DEFAULT_DATABASE)
        db = self.db
        self.users = MongoUsers(db["users"])
        self.tokens = MongoRefreshTokens(db["refresh_tokens"])
        self.sessions = MongoSessions(db["sessions"], db["collaborators"], db["invites"])
        self.invites = MongoInvites(db["invites"])
        self.jobs = MongoJobs(db["jobs"])
        self.documents = MongoDocuments(db["document_updates"], db["document_snapshots"])
        self.activity = MongoActivity(db["activity"])

    async def open(self) -> None:
        """Check the server answers and create the indexes (idempotent)."""
        try:
            await create_indexes(self.db)
        except PyMongoError as exc:
            raise StoreError(f"MongoDB failed to open: {exc}") from exc

    async def close(self) -> None:
        await self._client.close()

    async def ping(self) -> None:
        try:
            await self.db.command("ping")
        except PyMongoError as exc:
            raise StoreError(f"MongoDB does not answer: {exc}") from exc
