"""Invite links: an unguessable code that makes whoever presents it a collaborator.

A code may expire, be limited to a number of uses, and be revoked; claiming a use is
atomic in the store, so of N people joining at once with a one-use code exactly one wins.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from ..errors import Gone, NotFound, ValidationFailed
from ..store.base import Store
from ..store.records import Invite, Session, SessionRole, User
from ..utils import utcnow
from .access import SessionAccess
from .collaborators import CollaboratorService
from .permissions import Action

CODE_BYTES = 18  # 144 random bits, 24 URL-safe characters


class InviteService:
    def __init__(
        self, store: Store, access: SessionAccess, collaborators: CollaboratorService
    ) -> None:
        self._store = store
        self._access = access
        self._collaborators = collaborators

    async def create(
        self,
        user: User,
        session_id: str,
        *,
        role: SessionRole,
        expires_in_s: int | None = None,
        max_uses: int | None = None,
    ) -> Invite:
        """A new code for ``role`` (owner or admin only)."""
        if role is SessionRole.OWNER:
            raise ValidationFailed("An invite grants read, write or admin.")
        session, _ = await self._access.authorize(user, session_id, Action.MANAGE)
        now = utcnow()
        invite = Invite(
            code=secrets.token_urlsafe(CODE_BYTES),
            session_id=session.id,
            role=role,
            created_by=user.id,
            created_at=now,
            expires_at=None if expires_in_s is None else now + timedelta(seconds=expires_in_s),
            max_uses=max_uses,
        )
        await self._store.invites.create(invite)
        return invite

    async def list(self, user: User, session_id: str) -> list[Invite]:
        session, _ = await self._access.authorize(user, session_id, Action.MANAGE)
        return await self._store.invites.list(session.id)

    async def revoke(self, user: User, session_id: str, code: str) -> None:
        """Revoke a code of this session (idempotent); NotFound for another session's code."""
        session, _ = await self._access.authorize(user, session_id, Action.MANAGE)
        invite = await self._store.invites.get(code)
        if invite is None or invite.session_id != session.id:
            raise NotFound("No such invite.")
        await self._store.invites.revoke(code, utcnow())

    async def join(self, user: User, code: str) -> tuple[Session, SessionRole]:
        """Make ``user`` a collaborator with the invite's role, never lowering their role.

        The session and the user's role on it. NotFound for an unknown code; Gone when it
        expired, was used up or revoked. Someone who already has the role uses nothing.
        """
        invite = await self._store.invites.get(code)
        session = await self._access.session(invite.session_id) if invite else None
        if invite is None or session is None:
            raise NotFound("No such invite.")
        _check_usable(invite, utcnow())
        current = await self._current_role(user, session)
        if current is not None and current.rank >= invite.role.rank:
            return session, await self._effective(user, session)
        if await self._store.invites.claim(code, utcnow()) is None:
            latest = await self._store.invites.get(code)
            _check_usable(latest or invite, utcnow())
            raise Gone("This invite is no longer valid.")  # e.g. used up meanwhile
        await self._collaborators.assign(session, user, invite.role)
        return session, await self._effective(user, session)

    async def _current_role(self, user: User, session: Session) -> SessionRole | None:
        """The role the user holds on the session itself (not through being an admin)."""
        if session.owner_id == user.id:
            return SessionRole.OWNER
        collaborator = await self._store.sessions.get_collaborator(session.id, user.id)
        return None if collaborator is None else collaborator.role

    async def _effective(self, user: User, session: Session) -> SessionRole:
        role = await self._access.role_of(user, session)
        if role is None:  # removed again meanwhile: the join did happen
            raise NotFound("No such invite.")
        return role


def _check_usable(invite: Invite, now: datetime) -> None:
    if invite.revoked_at is not None:
        raise Gone("This invite was revoked.")
    if invite.expires_at is not None and invite.expires_at <= now:
        raise Gone("This invite has expired.")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise Gone("This invite has been used up.")
