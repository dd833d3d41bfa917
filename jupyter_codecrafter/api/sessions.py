"""Session endpoints: list, create, read, update, delete, fork, export."""

from __future__ import annotations

from typing import Any

from ..sessions.service import Scope, SessionView
from ..store.records import SessionKind, User
from .base import CodeCrafterHandler
from .operation import operation
from .schemas.sessions import (
    CollaboratorOut,
    CreateSessionRequest,
    ForkSessionRequest,
    GetSessionQuery,
    ListSessionsQuery,
    SessionDetailResponse,
    SessionListResponse,
    SessionOut,
    SessionResponse,
    UpdateSessionRequest,
)

SESSION_ID = r"(?P<session_id>[A-Za-z0-9_-]{1,64})"
TAGS = ("sessions",)


class SessionsHandler(CodeCrafterHandler):
    @operation(
        "List sessions",
        query=ListSessionsQuery,
        responses={200: SessionListResponse},
        tags=TAGS,
        description="Newest first, with your role on each; follow next_cursor for more.",
    )
    async def get(self, *, user: User, query: ListSessionsQuery) -> None:
        page = await self.services.sessions.list(
            user, scope=Scope(query.scope), query=query.q, limit=query.limit, cursor=query.cursor
        )
        sessions = [SessionOut.from_record(session, str(role)) for session, role in page.items]
        self.reply(200, SessionListResponse(sessions=sessions, next_cursor=page.next_cursor))

    @operation(
        "Create a session",
        request=CreateSessionRequest,
        responses={201: SessionResponse},
        max_body_bytes="max_content_bytes",
        tags=TAGS,
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
    @operation(
        "Read a session",
        query=GetSessionQuery,
        responses={200: SessionDetailResponse},
        tags=TAGS,
        description="Metadata, collaborators, your role; ?include=content adds the document.",
    )
    async def get(self, session_id: str, *, user: User, query: GetSessionQuery) -> None:
        view = await self.services.sessions.get(
            user, session_id, include_content=query.include == "content"
        )
        self.reply(200, detail(view))

    @operation(
        "Update a session",
        request=UpdateSessionRequest,
        responses={200: SessionResponse},
        tags=TAGS,
        description="Title, language, is_public, metadata (admin or owner).",
    )
    async def put(self, session_id: str, *, user: User, body: UpdateSessionRequest) -> None:
        changes = body.model_dump(exclude_unset=True, exclude_none=True)
        session, role = await self.services.sessions.update(user, session_id, changes)
        self.reply(200, SessionResponse(session=SessionOut.from_record(session, str(role))))

    @operation(
        "Delete a session",
        responses={204: None},
        tags=TAGS,
        description="Owner only. Closes live connections; deletes the document and its jobs.",
    )
    async def delete(self, session_id: str, *, user: User) -> None:
        await self.services.sessions.delete(user, session_id)
        self.set_status(204)
        self.finish()


class ForkHandler(CodeCrafterHandler):
    @operation(
        "Fork a session",
        request=ForkSessionRequest,
        responses={201: SessionResponse},
        tags=TAGS,
        description="A copy you own of a session you can read, with its current content.",
    )
    async def post(self, session_id: str, *, user: User, body: ForkSessionRequest) -> None:
        session = await self.services.sessions.fork(
            user, session_id, title=body.title, is_public=body.is_public
        )
        self.reply(201, SessionResponse(session=SessionOut.from_record(session, "owner")))


class ExportHandler(CodeCrafterHandler):
    @operation(
        "Export a session",
        responses={200: None},
        tags=TAGS,
        description="A notebook as a valid .ipynb (application/x-ipynb+json), a file as text.",
    )
    async def get(self, session_id: str, *, user: User) -> None:
        export = await self.services.sessions.export(user, session_id)
        self.set_header("Content-Disposition", export.content_disposition)
        # APIHandler.finish sets the Content-Type itself: application/json unless told.
        self.finish(export.body, set_content_type=export.media_type)


def detail(view: SessionView) -> SessionDetailResponse:
    return SessionDetailResponse(
        session=SessionOut.from_record(view.session, str(view.role)),
        collaborators=[CollaboratorOut.from_member(member) for member in view.members],
        content=view.content,
    )


handlers: list[tuple[str, Any]] = [
    (r"/sessions", SessionsHandler),
    (rf"/sessions/{SESSION_ID}", SessionHandler),
    (rf"/sessions/{SESSION_ID}/fork", ForkHandler),
    (rf"/sessions/{SESSION_ID}/export", ExportHandler),
]
