"""The store interface: what the services need from a database, and nothing more.

A :class:`Store` groups one repository per record type. Two implementations exist:
``SQLiteStore`` (embedded, one file, the default) and ``MongoStore`` (scaled, PyMongo's
async API). Both pass the same contract suite in ``tests/store/``.

Rules every implementation keeps:

- Records go in and come out as the dataclasses of :mod:`.records`; datetimes are UTC-aware.
- A unique field taken twice raises :class:`~jupyter_codecrafter.errors.DuplicateError`
  naming the field (``"username"``, ``"email"``, ``"code"``...), and writes nothing.
- Driver errors are translated into :class:`~jupyter_codecrafter.errors.StoreError`.
- ``get``-style methods return ``None`` for a missing record; mutators return whether
  (or what) they changed, so callers can answer 404 without a second query.
"""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from .records import (
    ActivityEntry,
    Collaborator,
    DocumentState,
    Invite,
    Job,
    JobStatus,
    RefreshToken,
    Session,
    SessionRole,
    User,
)

# Cursor for "newest first" pagination: the (created_at, id) of the last item of a page.
PageCursor = tuple[datetime, str]


class UserRepository(ABC):
    @abstractmethod
    async def create(self, user: User) -> None:
        """Insert; DuplicateError("username"|"email") when taken (case-insensitive)."""

    @abstractmethod
    async def get(self, user_id: str) -> User | None: ...

    @abstractmethod
    async def get_by_username(self, username: str) -> User | None:
        """Case-insensitive."""

    @abstractmethod
    async def get_by_login(self, login: str) -> User | None:
        """By username or email, case-insensitive."""

    @abstractmethod
    async def update(self, user_id: str, fields: Mapping[str, Any]) -> User | None:
        """Set the given fields (names of :class:`User` attributes); the updated user.

        DuplicateError("email") when the new email is taken, and nothing changes.
        """

    @abstractmethod
    async def delete(self, user_id: str) -> bool: ...

    @abstractmethod
    async def get_many(self, user_ids: Sequence[str]) -> list[User]:
        """The users that exist among ``user_ids``, in no particular order."""


class RefreshTokenRepository(ABC):
    @abstractmethod
    async def add(self, token: RefreshToken) -> None: ...

    @abstractmethod
    async def get_by_hash(self, token_hash: str) -> RefreshToken | None: ...

    @abstractmethod
    async def mark_used(self, token_id: str, used_at: datetime) -> bool:
        """Atomically mark an unused, unrevoked token used; False if it already was (reuse)."""

    @abstractmethod
    async def revoke(self, token_id: str, revoked_at: datetime) -> bool: ...

    @abstractmethod
    async def revoke_family(self, family_id: str, revoked_at: datetime) -> int:
        """Revoke every unrevoked token of the family; how many."""

    @abstractmethod
    async def revoke_user(
        self, user_id: str, revoked_at: datetime, *, except_family: str | None = None
    ) -> int:
        """Revoke every unrevoked token of the user, except one family; how many."""

    @abstractmethod
    async def purge_expired(self, now: datetime) -> int:
        """Delete tokens whose ``expires_at`` is before ``now``; how many."""


class SessionRepository(ABC):
    @abstractmethod
    async def create(self, session: Session) -> None: ...

    @abstractmethod
    async def get(self, session_id: str) -> Session | None: ...

    @abstractmethod
    async def update(self, session_id: str, fields: Mapping[str, Any]) -> Session | None:
        """Set the given fields (names of :class:`Session` attributes); the updated session."""

    @abstractmethod
    async def delete(self, session_id: str) -> bool:
        """Delete the session with its collaborators and invites (not documents or jobs)."""

    @abstractmethod
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
        """Newest first (created_at, then id, descending), strictly older than ``before``.

        Filters combine with AND: ``owner_id`` owns it; ``member_id`` is a collaborator
        (not the owner); ``public`` matches ``is_public``; ``query`` is a case-insensitive
        substring of the title.
        """

    @abstractmethod
    async def set_collaborator(self, collaborator: Collaborator) -> None:
        """Insert or replace the role of (session_id, user_id)."""

    @abstractmethod
    async def get_collaborator(self, session_id: str, user_id: str) -> Collaborator | None: ...

    @abstractmethod
    async def list_collaborators(self, session_id: str) -> builtins.list[Collaborator]:
        """Oldest first (added_at ascending)."""

    @abstractmethod
    async def remove_collaborator(self, session_id: str, user_id: str) -> bool: ...

    @abstractmethod
    async def remove_user(self, user_id: str) -> None:
        """Drop a deleted user's collaborator entries everywhere."""


class InviteRepository(ABC):
    @abstractmethod
    async def create(self, invite: Invite) -> None:
        """DuplicateError("code") when the code exists."""

    @abstractmethod
    async def get(self, code: str) -> Invite | None: ...

    @abstractmethod
    async def claim(self, code: str, now: datetime) -> Invite | None:
        """Atomically use the invite once: only if unrevoked, unexpired at ``now`` and
        ``uses < max_uses`` (or no max). The invite after the increment, or None.
        Of N concurrent claims on a ``max_uses=1`` invite exactly one succeeds."""

    @abstractmethod
    async def revoke(self, code: str, revoked_at: datetime) -> bool: ...

    @abstractmethod
    async def list(self, session_id: str) -> list[Invite]:
        """Newest first."""


class JobRepository(ABC):
    @abstractmethod
    async def create(self, job: Job) -> None: ...

    @abstractmethod
    async def get(self, job_id: str) -> Job | None: ...

    @abstractmethod
    async def update(self, job_id: str, fields: Mapping[str, Any]) -> Job | None:
        """Set the given fields (names of :class:`Job` attributes); the updated job."""

    @abstractmethod
    async def start(self, job_id: str, worker: str, started_at: datetime) -> Job | None:
        """Atomically move a job that is not final to RUNNING on ``worker``, adding one to
        ``attempts``; None when the job is missing or already final (then don't run it)."""

    @abstractmethod
    async def finish(self, job_id: str, status: JobStatus, fields: Mapping[str, Any]) -> Job | None:
        """Set a final status and fields unless the job is already final; the job or None."""

    @abstractmethod
    async def list(
        self,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        limit: int = 50,
        before: PageCursor | None = None,
    ) -> list[Job]:
        """Newest first by (queued_at, id)."""

    @abstractmethod
    async def delete_for_session(self, session_id: str) -> int: ...


class DocumentRepository(ABC):
    """Y document persistence: append-only updates, compacted into a snapshot."""

    @abstractmethod
    async def append(self, session_id: str, update: bytes) -> int:
        """Append one Y update; its sequence number (increasing per session, from 1)."""

    @abstractmethod
    async def load(self, session_id: str) -> DocumentState:
        """The snapshot and the updates after it, in order (empty state when unknown)."""

    @abstractmethod
    async def compact(self, session_id: str, snapshot: bytes, upto_seq: int) -> None:
        """Replace the snapshot and drop updates with ``seq <= upto_seq``. Updates appended
        after ``upto_seq`` meanwhile are kept."""

    @abstractmethod
    async def delete(self, session_id: str) -> None: ...


class ActivityRepository(ABC):
    @abstractmethod
    async def add(self, entry: ActivityEntry) -> None: ...

    @abstractmethod
    async def list(
        self, *, user_id: str | None = None, session_id: str | None = None, limit: int = 100
    ) -> list[ActivityEntry]:
        """Newest first."""

    @abstractmethod
    async def purge(self, before: datetime) -> int:
        """Delete entries older than ``before``; how many. (MongoDB also has a TTL index.)"""


class Store(ABC):
    """A database, opened once per process."""

    users: UserRepository
    tokens: RefreshTokenRepository
    sessions: SessionRepository
    invites: InviteRepository
    jobs: JobRepository
    documents: DocumentRepository
    activity: ActivityRepository

    @abstractmethod
    async def open(self) -> None:
        """Connect and create tables/collections and indexes (idempotent)."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None:
        """Raise StoreError when the database does not answer."""


def create_store(url: str) -> Store:
    """The store for ``url``: ``sqlite:///path`` (or ``sqlite://:memory:``) or ``mongodb://``."""
    if url.startswith("sqlite:"):
        from .sqlite import SQLiteStore

        return SQLiteStore(url)
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from .mongo import MongoStore

        return MongoStore(url)
    raise ValueError(f"Unsupported store URL scheme: {url.split(':', 1)[0]!r}")


__all__ = [
    "ActivityRepository",
    "DocumentRepository",
    "InviteRepository",
    "JobRepository",
    "PageCursor",
    "RefreshTokenRepository",
    "SessionRepository",
    "SessionRole",
    "Store",
    "UserRepository",
    "create_store",
]
