"""Session endpoints."""

from __future__ import annotations

from ..sessions.permissions import Action
from ..store.records import SessionKind, User
from .base import CodeCrafterHandler
from .operation import operation
from .schemas.sessions import CreateSessionRequest, SessionOut, SessionResponse


class SessionsHandler(CodeCrafterHandler):
    @operation(
        "Create a session",
        request=CreateSessionRequest,
        responses={201: SessionResponse},
        max_body_bytes="max_content_bytes",
        tags=("sessions",),
    )
    async def post(self, *, user: User, body: CreateSessionRequest) -> None:
        session = await self.services.sessions.create(
            user,
            title=body.title,
            kind=SessionKind(body.kind),
            language=body.language,
            content=body.content,
            is_public=body.is_public,
            metadata=body.metadata,
        )
        self.reply(201, SessionResponse(session=SessionOut.from_record(session, "owner")))


class SessionHandler(CodeCrafterHandler):
    @operation("Read a session", responses={200: SessionResponse}, tags=("sessions",))
    async def get(self, session_id: str, *, user: User) -> None:
        session, role = await self.services.sessions.authorize(user, session_id, Action.VIEW)
        self.reply(200, SessionResponse(session=SessionOut.from_record(session, str(role))))


handlers = [
    (r"/sessions", SessionsHandler),
    (r"/sessions/(?P<session_id>[A-Za-z0-9_-]{1,64})", SessionHandler),
]
