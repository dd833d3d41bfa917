"""Auth endpoints: register and log in, answered with a token pair."""

from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated

from ..accounts.service import TokenPair
from ..store.records import User
from .base import CodeCrafterHandler
from .schemas import AuthResponse, LoginRequest, RegisterRequest, UserOut


def auth_response(user: User, tokens: TokenPair) -> AuthResponse:
    return AuthResponse(
        user=UserOut.from_record(user),
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


class RegisterHandler(CodeCrafterHandler):
    @allow_unauthenticated
    async def post(self) -> None:
        body = self.parse_body(RegisterRequest)
        user, tokens = await self.services.accounts.register(
            body.username, str(body.email), body.password
        )
        self.reply(201, auth_response(user, tokens))


class LoginHandler(CodeCrafterHandler):
    @allow_unauthenticated
    async def post(self) -> None:
        body = self.parse_body(LoginRequest)
        user, tokens = await self.services.accounts.login(body.login, body.password)
        self.reply(200, auth_response(user, tokens))


handlers = [
    (r"/auth/register", RegisterHandler),
    (r"/auth/login", LoginHandler),
]
