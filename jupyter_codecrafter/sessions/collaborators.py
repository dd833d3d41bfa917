"""Collaborators: who besides the owner has a role on a session, and changing it.

Every change reaches the user's live room connections at once, on every instance (a
downgrade makes them read-only, a removal closes them), and the cached role everywhere.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

from ..errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..rooms.manager import RoomManager
from ..store.base import Store
from ..store.records import Collaborator, Session, SessionRole, User
from ..utils import utcnow
from .access import SessionAccess
from .permissions import Action, allowed, effective_role


@dataclass(frozen=True, slots=True)
class Member:
    """A user with a role on a session: the owner or a collaborator."""

    user: User
    role: SessionRole
    added_at: datetime


class CollaboratorService:
    def __init__(self, store: Store, access: SessionAccess, rooms: RoomManager) -> None:
        self._store = store
        self._access = access
        self._rooms = rooms

    async def list(self, user: User, session_id: str) -> list[Member]:
        """Everyone with a role, the owner first; anyone who can read the session sees it."""
        session, _ = await self._access.authorize(user, session_id, Action.VIEW)
        return await self.members(session)

    async def members(self, session: Session) -> builtins.list[Member]:
        collaborators = await self._store.sessions.list_collaborators(session.id)
        ids = [session.owner_id] + [c.user_id for c in collaborators]
        users = {u.id: u for u in await self._store.users.get_many(ids)}
        members = []
        if session.owner_id in users:
            members.append(Member(users[session.owner_id], SessionRole.OWNER, session.created_at))
        for collaborator in collaborators:
            user = users.get(collaborator.user_id)
            if user is not None:  # a deleted account's rows may linger until cleaned up
                members.append(Member(user, collaborator.role, collaborator.added_at))
        return members

    async def set(self, actor: User, session_id: str, target: str, role: SessionRole) -> Member:
        """Give ``target`` (a user id or username) ``role`` (owner or admin only)."""
        if role is SessionRole.OWNER:
            raise ValidationFailed("A collaborator's role is read, write or admin.")
        session, _ = await self._access.authorize(actor, session_id, Action.MANAGE)
        user = await self.find_user(target)
        if user.id == session.owner_id:
            raise Conflict("The owner's role cannot be changed.")
        added_at = await self.assign(session, user, role)
        return Member(user, role, added_at)

    async def remove(self, actor: User, session_id: str, target: str) -> None:
        """Take ``target``'s role away (owner or admin; anyone may remove themselves)."""
        session, role = await self._access.authorize(actor, session_id, Action.VIEW)
        user = await self.find_user(target)
        if user.id != actor.id and not allowed(role, Action.MANAGE):
            raise PermissionDenied(f"Your role ({role}) does not allow this ({Action.MANAGE}).")
        if user.id == session.owner_id:
            raise Conflict("The owner cannot be removed.")
        if not await self._store.sessions.remove_collaborator(session.id, user.id):
            raise NotFound("This user is not a collaborator of the session.")
        await self._applied(session, user, None)

    async def assign(self, session: Session, user: User, role: SessionRole) -> datetime:
        """Store the role and apply it everywhere; when the user was first added."""
        await self._store.sessions.set_collaborator(
            Collaborator(session.id, user.id, role, utcnow())
        )
        await self._applied(session, user, role)
        stored = await self._store.sessions.get_collaborator(session.id, user.id)
        return stored.added_at if stored is not None else utcnow()

    async def find_user(self, target: str) -> User:
        """A user by id or username; NotFound otherwise."""
        user = await self._store.users.get(target) or await self._store.users.get_by_username(
            target
        )
        if user is None:
            raise NotFound("No such user.")
        return user

    async def _applied(self, session: Session, user: User, role: SessionRole | None) -> None:
        await self._access.cache.invalidate_role(session.id, user.id)
        # Live connections get the user's effective role: a removed collaborator of a public
        # session still reads it; a platform admin stays an admin.
        await self._rooms.set_role(session.id, user.id, effective_role(user, session, role))
