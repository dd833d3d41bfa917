"""Collaborator endpoints: who has which role on a session, and changing it.

``{user}`` in a path is a user id or a username.
"""

from __future__ import annotations

from typing import Any

from ..store.records import SessionRole, User
from .base import CodeCrafterHandler
from .operation import operation
from .schemas import ErrorResponse
from .schemas.sessions import (
    CollaboratorOut,
    CollaboratorResponse,
    CollaboratorsResponse,
    SetCollaboratorRequest,
)
from .sessions import SESSION_ID

TAGS = ("collaborators",)
USER = r"(?P<user_ref>[A-Za-z0-9_-]{1,64})"


class CollaboratorsHandler(CodeCrafterHandler):
    @operation(
        "List collaborators",
        responses={200: CollaboratorsResponse},
        tags=TAGS,
        description="The owner (role owner) first, then collaborators, oldest first.",
    )
    async def get(self, session_id: str, *, user: User) -> None:
        members = await self.services.sessions.collaborators.list(user, session_id)
        collaborators = [CollaboratorOut.from_member(member) for member in members]
        self.reply(200, CollaboratorsResponse(collaborators=collaborators))


class CollaboratorHandler(CodeCrafterHandler):
    @operation(
        "Set a collaborator's role",
        request=SetCollaboratorRequest,
        responses={200: CollaboratorResponse, 409: ErrorResponse},
        tags=TAGS,
        description="Owner or admin. Applies to the user's live connections at once.",
    )
    async def put(
        self, session_id: str, user_ref: str, *, user: User, body: SetCollaboratorRequest
    ) -> None:
        member = await self.services.sessions.collaborators.set(
            user, session_id, user_ref, SessionRole(body.role)
        )
        self.reply(200, CollaboratorResponse(collaborator=CollaboratorOut.from_member(member)))

    @operation(
        "Remove a collaborator",
        responses={204: None, 409: ErrorResponse},
        tags=TAGS,
        description="Owner or admin (anyone may remove themselves). Closes their connections.",
    )
    async def delete(self, session_id: str, user_ref: str, *, user: User) -> None:
        await self.services.sessions.collaborators.remove(user, session_id, user_ref)
        self.set_status(204)
        self.finish()


handlers: list[tuple[str, Any]] = [
    (rf"/sessions/{SESSION_ID}/collaborators", CollaboratorsHandler),
    (rf"/sessions/{SESSION_ID}/collaborators/{USER}", CollaboratorHandler),
]
