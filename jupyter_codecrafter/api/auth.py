"""Auth endpoints: register and log in, answered with a token pair."""

from __future__ import annotations

from ..accounts.service import TokenPair
from ..store.records import User
from .base import CodeCrafterHandler
from .operation import operation
from .schemas.auth import AuthResponse, LoginRequest, RegisterRequest, UserOut


def auth_response(user: User, tokens: TokenPair) -> AuthResponse:
    return AuthResponse(
        user=UserOut.from_record(user),
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


class RegisterHandler(CodeCrafterHandler):
    @operation(
        "Create an account and sign in",
        request=RegisterRequest,
        responses={201: AuthResponse},
        auth=False,
        tags=("auth",),
    )
    async def post(self, *, body: RegisterRequest) -> None:
        user, tokens = await self.services.accounts.register(
            body.username, str(body.email), body.password
        )
        self.reply(201, auth_response(user, tokens))


class LoginHandler(CodeCrafterHandler):
    @operation(
        "Sign in with a username or email",
        request=LoginRequest,
        responses={200: AuthResponse},
        auth=False,
        tags=("auth",),
    )
    async def post(self, *, body: LoginRequest) -> None:
        user, tokens = await self.services.accounts.login(body.login, body.password)
        self.reply(200, auth_response(user, tokens))


handlers = [
    (r"/auth/register", RegisterHandler),
    (r"/auth/login", LoginHandler),
]
