"""Invite endpoints: create, list and revoke codes; join a session with one.

An invite's ``url`` is ``<server>/<base_url>lab?codecrafter-invite=<code>``: JupyterLab opens,
and the CodeCrafter panel sees the parameter and calls ``POST /sessions/join``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ..store.records import Invite, SessionRole, User
from .base import CodeCrafterHandler
from .operation import operation
from .schemas import ErrorResponse
from .schemas.sessions import (
    CreateInviteRequest,
    InviteOut,
    InvitesResponse,
    JoinRequest,
    JoinResponse,
    SessionOut,
)
from .sessions import SESSION_ID

TAGS = ("invites",)
CODE = r"(?P<code>[A-Za-z0-9_-]{1,64})"
INVITE_PARAMETER = "codecrafter-invite"


class InviteBase(CodeCrafterHandler):
    def invite_out(self, invite: Invite) -> InviteOut:
        base_url = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        url = (
            f"{self.request.protocol}://{self.request.host}{base_url}lab"
            f"?{INVITE_PARAMETER}={quote(invite.code)}"
        )
        return InviteOut.from_record(invite, url)


class InvitesHandler(InviteBase):
    @operation(
        "Create an invite",
        request=CreateInviteRequest,
        responses={201: InviteOut},
        tags=TAGS,
        description="Owner or admin. Anyone signed in who presents the code joins with the role.",
    )
    async def post(self, session_id: str, *, user: User, body: CreateInviteRequest) -> None:
        invite = await self.services.sessions.invites.create(
            user,
            session_id,
            role=SessionRole(body.role),
            expires_in_s=body.expires_in,
            max_uses=body.max_uses,
        )
        self.reply(201, self.invite_out(invite))

    @operation("List invites", responses={200: InvitesResponse}, tags=TAGS)
    async def get(self, session_id: str, *, user: User) -> None:
        invites = await self.services.sessions.invites.list(user, session_id)
        self.reply(200, InvitesResponse(invites=[self.invite_out(i) for i in invites]))


class InviteHandler(CodeCrafterHandler):
    @operation("Revoke an invite", responses={204: None}, tags=TAGS)
    async def delete(self, session_id: str, code: str, *, user: User) -> None:
        await self.services.sessions.invites.revoke(user, session_id, code)
        self.set_status(204)
        self.finish()


class JoinHandler(CodeCrafterHandler):
    @operation(
        "Join a session with an invite code",
        request=JoinRequest,
        responses={200: JoinResponse, 404: ErrorResponse, 410: ErrorResponse},
        tags=TAGS,
        description="Never lowers a role you have; 410 when the code expired, was used up or "
        "revoked.",
    )
    async def post(self, *, user: User, body: JoinRequest) -> None:
        session, role = await self.services.sessions.invites.join(user, body.code)
        out = SessionOut.from_record(session, str(role))
        self.reply(200, JoinResponse(session=out, role=str(role)))


# /sessions/join must be routed before /sessions/{id} would take "join" for an id.
handlers: list[tuple[str, Any]] = [
    (r"/sessions/join", JoinHandler),
    (rf"/sessions/{SESSION_ID}/invites", InvitesHandler),
    (rf"/sessions/{SESSION_ID}/invites/{CODE}", InviteHandler),
]
