"""Who may do what with a session: cached look-ups feeding the one permission function."""

from __future__ import annotations

from ..errors import NotFound, PermissionDenied
from ..store.base import Store
from ..store.records import Session, SessionRole, User
from .cache import SessionCache
from .permissions import Action, allowed, effective_role


class SessionAccess:
    def __init__(self, store: Store, cache: SessionCache) -> None:
        self._store = store
        self.cache = cache

    async def session(self, session_id: str) -> Session | None:
        return await self.cache.session(session_id, lambda: self._store.sessions.get(session_id))

    async def collaborator_role(self, session_id: str, user_id: str) -> SessionRole | None:
        async def load() -> SessionRole | None:
            collaborator = await self._store.sessions.get_collaborator(session_id, user_id)
            return None if collaborator is None else collaborator.role

        return await self.cache.collaborator_role(session_id, user_id, load)

    async def role_of(self, user: User, session: Session) -> SessionRole | None:
        """The user's effective role on the session; None: no access at all."""
        collaborator = None
        if session.owner_id != user.id:
            collaborator = await self.collaborator_role(session.id, user.id)
        return effective_role(user, session, collaborator)

    async def authorize(
        self, user: User, session_id: str, action: Action
    ) -> tuple[Session, SessionRole]:
        """The session and the user's role, if the user may do ``action``.

        NotFound when the session is missing or invisible to the user (existence of a
        private session is not revealed); PermissionDenied when visible but not allowed.
        """
        session = await self.session(session_id)
        role = await self.role_of(user, session) if session else None
        if session is None or role is None:
            raise NotFound("No such session.")
        if not allowed(role, action):
            raise PermissionDenied(f"Your role ({role}) does not allow this ({action}).")
        return session, role
