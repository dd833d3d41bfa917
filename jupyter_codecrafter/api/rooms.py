"""The room WebSocket: y-websocket protocol, authenticated with the access JWT.

The handler only authenticates, authorizes and adapts tornado's socket to the room
manager's ``Connection``; the protocol lives in ``rooms/``.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..errors import AuthenticationFailed, CodeCrafterError
from ..rooms.manager import Identity, RoomClient
from ..sessions.permissions import Action
from ..store.records import Session, SessionRole
from .base import bearer_token

if TYPE_CHECKING:
    from ..services import Services


class TornadoConnection:
    """The room manager's view of one WebSocket."""

    def __init__(self, handler: WebSocketHandler) -> None:
        self._handler = handler

    async def send(self, message: bytes) -> None:
        # A closed socket is reported to the room through on_close, not here.
        with contextlib.suppress(WebSocketClosedError):
            await self._handler.write_message(message, binary=True)

    async def close(self, code: int, reason: str) -> None:
        self._handler.close(code, reason)


class RoomHandler(ExtensionHandlerMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):
    _client: RoomClient | None = None
    _session: Session
    _role: SessionRole
    _identity: Identity

    @property
    def services(self) -> Services:
        return self.settings["codecrafter"]  # type: ignore[no-any-return]

    @allow_unauthenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Authenticate and authorize before the upgrade: a refused socket never opens."""
        await self.services.ready()
        try:
            await self._authorize(kwargs["session_id"])
        except CodeCrafterError as exc:
            raise web.HTTPError(exc.status, exc.message) from exc
        await super().get(*args, **kwargs)

    async def _authorize(self, session_id: str) -> None:
        token = self.get_query_argument("token", None) or bearer_token(
            self.request.headers.get("Authorization")
        )
        if not token:
            raise AuthenticationFailed("Pass the access token as ?token=.")
        user = await self.services.accounts.authenticate(token)
        self._session, self._role = await self.services.sessions.authorize(
            user, session_id, Action.VIEW
        )
        self._identity = Identity(
            user_id=user.id, username=user.username, display_name=user.display_name
        )

    async def open(self, *args: Any, **kwargs: Any) -> None:
        self._client = await self.services.rooms.connect(
            self._session.id,
            self._session.kind,
            TornadoConnection(self),
            identity=self._identity,
            role=self._role,
        )

    async def on_message(self, message: str | bytes) -> None:
        if isinstance(message, str):
            self.close(1003, "The room speaks binary y-websocket messages only.")
        elif self._client is not None:
            await self._client.receive(message)

    def on_close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            task = asyncio.ensure_future(client.disconnect())
            self.services.keep(task)


handlers = [(r"/rooms/(?P<session_id>[A-Za-z0-9_-]{1,64})", RoomHandler)]
