"""What the session's two WebSockets (its room, its kernel channel) share: the services, and
who is asking, checked before the upgrade. A refused socket never opens: the upgrade request
gets the API's JSON error with its status, as any other request does."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado.websocket import WebSocketHandler

from ..errors import AuthenticationFailed, CodeCrafterError
from ..sessions.permissions import Action
from ..store.records import Session, SessionRole, User
from .base import bearer_token, send_error

if TYPE_CHECKING:
    from ..services import Services


class SessionSocketHandler(ExtensionHandlerMixin, WebSocketMixin, WebSocketHandler, JupyterHandler):
    @property
    def services(self) -> Services:
        return self.settings["codecrafter"]  # type: ignore[no-any-return]

    @allow_unauthenticated  # the token is checked here, by the API's own rules
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Authenticate and authorize before the upgrade: a refused socket never opens."""
        await self.services.ready()
        try:
            await self._authorize(kwargs["session_id"])
        except CodeCrafterError as exc:
            send_error(self, exc)
            return
        await super().get(*args, **kwargs)

    async def _authorize(self, session_id: str) -> None:
        """Raise the API's error when the caller may not open this session's socket."""
        raise NotImplementedError

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
