"""Session endpoints."""

from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated

from ..sessions.permissions import Action
from ..store.records import SessionKind
from .base import CodeCrafterHandler
from .schemas import CreateSessionRequest, SessionOut, SessionResponse


class SessionsHandler(CodeCrafterHandler):
    @allow_unauthenticated
    async def post(self) -> None:
        user = await self.authenticated_user()
        body = self.parse_body(
            CreateSessionRequest, max_bytes=self.services.settings.max_content_bytes
        )
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
    @allow_unauthenticated
    async def get(self, session_id: str) -> None:
        user = await self.authenticated_user()
        session, role = await self.services.sessions.authorize(user, session_id, Action.VIEW)
        self.reply(200, SessionResponse(session=SessionOut.from_record(session, str(role))))


handlers = [
    (r"/sessions", SessionsHandler),
    (r"/sessions/(?P<session_id>[A-Za-z0-9_-]{1,64})", SessionHandler),
]
