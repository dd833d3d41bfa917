"""The session service: shared notebooks and files, and who may do what with them.

Document content is the room's business: it is written once here, when a session is
created (or forked), and read back through the room manager, which knows the live state.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..bus.base import Bus
from ..errors import NotFound, ValidationFailed
from ..paging import decode_cursor, split_page
from ..rooms.documents import initial_update
from ..rooms.manager import RoomManager
from ..rooms.presence import Present
from ..rooms.protocol import CLOSE_DELETED, CLOSE_GOING_AWAY
from ..store.base import Store
from ..store.records import Session, SessionKind, SessionRole, User
from ..utils import new_id, utcnow
from .access import SessionAccess
from .cache import SessionCache
from .collaborators import CollaboratorService, Member
from .content import Export, render_export, validated_content
from .invites import InviteService
from .permissions import Action

log = logging.getLogger("jupyter_codecrafter.sessions")

UPDATABLE_FIELDS = frozenset({"title", "language", "is_public", "metadata"})
FORKED_FROM = "forked_from"


class Scope(enum.StrEnum):
    MINE = "mine"  # sessions the caller owns
    SHARED = "shared"  # sessions the caller collaborates on
    PUBLIC = "public"  # public sessions, anyone's


@dataclass(frozen=True, slots=True)
class Page:
    items: list[tuple[Session, SessionRole]]  # with the caller's role on each
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class SessionView:
    session: Session
    role: SessionRole
    members: list[Member]
    content: dict[str, Any] | str | None = None


class SessionService:
    def __init__(self, store: Store, rooms: RoomManager, bus: Bus) -> None:
        self._store = store
        self._rooms = rooms
        self.access = SessionAccess(store, SessionCache(bus))
        self.collaborators = CollaboratorService(store, self.access, rooms)
        self.invites = InviteService(store, self.access, self.collaborators)

    async def authorize(
        self, user: User, session_id: str, action: Action
    ) -> tuple[Session, SessionRole]:
        """See :meth:`SessionAccess.authorize`: the one entry point of permission checks."""
        return await self.access.authorize(user, session_id, action)

    async def presence(self, user: User, session_id: str) -> list[Present]:
        """Who is connected to the session's room now, for anyone who can read it."""
        await self.authorize(user, session_id, Action.VIEW)
        return await self._rooms.presence(session_id)

    async def role_of(self, user: User, session: Session) -> SessionRole | None:
        return await self.access.role_of(user, session)

    async def create(
        self,
        owner: User,
        *,
        title: str,
        kind: SessionKind,
        language: str,
        content: dict[str, Any] | str | None = None,
        is_public: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> Session:
        """Create the session and its document's first state; ValidationFailed on bad content."""
        content = validated_content(kind, content)
        return await self._create(owner, title, kind, language, content, is_public, metadata)

    async def _create(
        self,
        owner: User,
        title: str,
        kind: SessionKind,
        language: str,
        content: dict[str, Any] | str | None,
        is_public: bool,
        metadata: dict[str, Any] | None,
    ) -> Session:
        now = utcnow()
        session = Session(
            id=new_id(),
            title=title,
            kind=kind,
            language=language,
            owner_id=owner.id,
            created_at=now,
            updated_at=now,
            is_public=is_public,
            metadata=metadata or {},
        )
        # The document first: a session is never visible without its content.
        await self._store.documents.append(session.id, initial_update(kind, content))
        await self._store.sessions.create(session)
        return session

    async def list(
        self,
        user: User,
        *,
        scope: Scope = Scope.MINE,
        query: str | None = None,
        limit: int = 20,
        cursor: str | None = None,
    ) -> Page:
        """One page, newest first, with the caller's role on each session."""
        before = decode_cursor(cursor) if cursor else None
        filters: dict[Scope, dict[str, Any]] = {
            Scope.MINE: {"owner_id": user.id},
            Scope.SHARED: {"member_id": user.id},
            Scope.PUBLIC: {"public": True},
        }
        sessions = await self._store.sessions.list(
            **filters[scope], query=query or None, limit=limit + 1, before=before
        )
        page, next_cursor = split_page(sessions, limit, lambda s: (s.created_at, s.id))
        items = []
        for session in page:
            role = await self.access.role_of(user, session)
            if role is not None:  # access may have changed since the row was read
                items.append((session, role))
        return Page(items, next_cursor)

    async def get(
        self, user: User, session_id: str, *, include_content: bool = False
    ) -> SessionView:
        session, role = await self.authorize(user, session_id, Action.VIEW)
        members = await self.collaborators.members(session)
        content = None
        if include_content:
            content = await self._rooms.get_content(session.id, session.kind)
        return SessionView(session, role, members, content)

    async def update(
        self, user: User, session_id: str, changes: Mapping[str, Any]
    ) -> tuple[Session, SessionRole]:
        """Change title, language, is_public or metadata (admin or owner)."""
        unknown = set(changes) - UPDATABLE_FIELDS
        if unknown or not changes:
            raise ValidationFailed(f"Give one or more of: {', '.join(sorted(UPDATABLE_FIELDS))}.")
        session, role = await self.authorize(user, session_id, Action.UPDATE)
        updated = await self._store.sessions.update(session.id, {**changes, "updated_at": utcnow()})
        await self.access.cache.invalidate_session(session.id)
        if updated is None:  # deleted meanwhile
            raise NotFound("No such session.")
        if session.is_public and not updated.is_public:
            # Public readers who are not collaborators lose access; the room cannot tell them
            # apart, so every client reconnects and is authorized again.
            await self._rooms.close_room(
                session.id, CLOSE_GOING_AWAY, "Access to this session changed; reconnect."
            )
        return updated, role

    async def delete(self, user: User, session_id: str) -> None:
        """Owner only: the session, its collaborators, invites, document and jobs."""
        session, _ = await self.authorize(user, session_id, Action.DELETE)
        await self._store.sessions.delete(session.id)
        await self.access.cache.invalidate_session(session.id)
        # Closed before the document goes, so no room writes it back.
        await self._rooms.close_room(session.id, CLOSE_DELETED, "The session was deleted.")
        await self._store.documents.delete(session.id)
        jobs = await self._store.jobs.delete_for_session(session.id)
        log.info("Deleted session %s (%d jobs)", session.id, jobs)

    async def fork(
        self, user: User, session_id: str, *, title: str | None = None, is_public: bool = False
    ) -> Session:
        """A new session owned by ``user`` with the current content of one they can read."""
        source, _ = await self.authorize(user, session_id, Action.VIEW)
        content = await self._rooms.get_content(source.id, source.kind)
        metadata = {**source.metadata, FORKED_FROM: source.id}
        title = title or f"{source.title} (copy)"[:200]
        return await self._create(
            user, title, source.kind, source.language, content, is_public, metadata
        )

    async def export(self, user: User, session_id: str) -> Export:
        """The notebook as a valid .ipynb, or the file's text."""
        session, _ = await self.authorize(user, session_id, Action.VIEW)
        content = await self._rooms.get_content(session.id, session.kind)
        return render_export(session.kind, session.title, session.language, content)
