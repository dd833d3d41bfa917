"""The embedded store: one SQLite file (or memory), shared safely by several processes."""

from __future__ import annotations

from ..base import Store
from .accounts import SQLiteRefreshTokens, SQLiteUsers
from .database import Database, parse_url
from .documents import SQLiteActivity, SQLiteDocuments
from .jobs import SQLiteJobs
from .sessions import SQLiteInvites, SQLiteSessions


class SQLiteStore(Store):
    """``SQLiteStore("sqlite:///abs/path.db")`` or ``SQLiteStore("sqlite://:memory:")``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db = Database(parse_url(url))
        self.users = SQLiteUsers(self._db)
        self.tokens = SQLiteRefreshTokens(self._db)
        self.sessions = SQLiteSessions(self._db)
        self.invites = SQLiteInvites(self._db)
        self.jobs = SQLiteJobs(self._db)
        self.documents = SQLiteDocuments(self._db)
        self.activity = SQLiteActivity(self._db)

    @property
    def path(self) -> str:
        """The database file (or ``:memory:``)."""
        return self._db.path

    async def open(self) -> None:
        """Open the file (creating its folder), switch to WAL and migrate the schema."""
        await self._db.open()

    async def close(self) -> None:
        await self._db.close()

    async def ping(self) -> None:
        await self._db.fetch_one("SELECT 1")
