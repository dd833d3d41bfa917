"""What the session's two WebSockets (its room, its kernel channel) share: the services, and
who is asking, checked before the upgrade (a refused socket never opens)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado.websocket import WebSocketHandler

from ..errors import AuthenticationFailed
from ..sessions.permissions import Action
from ..store.records import Session, SessionRole, User
from .base import bearer_token

if TYPE_CHECKING:
    from ..services import Services


class SessionSocketHandler(ExtensionHandlerMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):
    @property
    def services(self) -> Services:
        return self.settings["codecrafter"]  # type: ignore[no-any-return]

    async def _viewer(self, session_id: str) -> tuple[User, Session, SessionRole]:
        """The user of the access token (``?token=`` or Bearer), who may view the session."""
        token = self.get_query_argument("token", None) or bearer_token(
            self.request.headers.get("Authorization")
        )
        if not token:
            raise AuthenticationFailed("Pass the access token as ?token=.")
        user = await self.services.accounts.authenticate(token)
        session, role = await self.services.sessions.authorize(user, session_id, Action.VIEW)
        return user, session, role
