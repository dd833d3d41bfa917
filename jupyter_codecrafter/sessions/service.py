"""The session service: shared notebooks and files, and who may do what with them."""

from __future__ import annotations

from typing import Any

from ..errors import NotFound, PermissionDenied
from ..rooms.documents import initial_update
from ..store.base import Store
from ..store.records import Session, SessionKind, SessionRole, User
from ..utils import new_id, utcnow
from .permissions import Action, allowed, effective_role


class SessionService:
    def __init__(self, store: Store) -> None:
        self._store = store

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
        """Create the session and its document's first state, written once, here."""
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
        update = initial_update(kind, content)
        await self._store.documents.append(session.id, update)
        await self._store.sessions.create(session)
        return session

    async def role_of(self, user: User, session: Session) -> SessionRole | None:
        collaborator = None
        if session.owner_id != user.id:
            collaborator = await self._store.sessions.get_collaborator(session.id, user.id)
        return effective_role(user, session, collaborator.role if collaborator else None)

    async def authorize(
        self, user: User, session_id: str, action: Action
    ) -> tuple[Session, SessionRole]:
        """The session and the user's role, if the user may do ``action``.

        NotFound when the session is missing or invisible to the user (existence of a
        private session is not revealed); PermissionDenied when visible but not allowed.
        """
        session = await self._store.sessions.get(session_id)
        role = await self.role_of(user, session) if session else None
        if session is None or role is None:
            raise NotFound("No such session.")
        if not allowed(role, action):
            raise PermissionDenied(f"Your role ({role}) does not allow this ({action}).")
        return session, role
