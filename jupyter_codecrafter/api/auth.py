"""Auth endpoints: register, log in, rotate, log out, and the signed-in user's profile.

Access tokens are short-lived JWTs sent as ``Authorization: Bearer``; refresh tokens are
opaque, rotated on every use, and only their hash is stored. Logging out revokes refresh
tokens; an access token stays valid until it expires (15 minutes by default).
"""

from __future__ import annotations

from ..accounts.service import TokenPair
from ..store.records import User
from .base import CodeCrafterHandler
from .operation import operation
from .schemas import ErrorResponse
from .schemas.auth import (
    AuthResponse,
    ChangePasswordRequest,
    LoginRequest,
    LogoutAllResponse,
    LogoutRequest,
    ProfileOut,
    ProfileResponse,
    RefreshRequest,
    RegisterRequest,
    UpdateProfileRequest,
    UserOut,
)

TAGS = ("auth",)


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
        description="Usernames are 3-32 of a-z, 0-9, _ and - (case-insensitive); a taken "
        "username or email answers 409 naming the field.",
        request=RegisterRequest,
        responses={201: AuthResponse, 409: ErrorResponse},
        auth=False,
        rate_limit="register",
        tags=TAGS,
    )
    async def post(self, *, body: RegisterRequest) -> None:
        user, tokens = await self.services.accounts.register(
            body.username, str(body.email), body.password, ip=self.client_ip
        )
        self.reply(201, auth_response(user, tokens))


class LoginHandler(CodeCrafterHandler):
    @operation(
        "Sign in with a username or email",
        description="An unknown login and a wrong password get the same 401.",
        request=LoginRequest,
        responses={200: AuthResponse, 401: ErrorResponse},
        auth=False,
        rate_limit="login",
        tags=TAGS,
    )
    async def post(self, *, body: LoginRequest) -> None:
        user, tokens = await self.services.accounts.login(
            body.login, body.password, ip=self.client_ip
        )
        self.reply(200, auth_response(user, tokens))


class RefreshHandler(CodeCrafterHandler):
    @operation(
        "Exchange a refresh token for a new token pair",
        description="The refresh token is spent: presenting it again revokes every token "
        "rotated from the same sign-in (401 token_reused).",
        request=RefreshRequest,
        responses={200: AuthResponse, 401: ErrorResponse},
        auth=False,
        tags=TAGS,
    )
    async def post(self, *, body: RefreshRequest) -> None:
        user, tokens = await self.services.accounts.refresh(body.refresh_token, ip=self.client_ip)
        self.reply(200, auth_response(user, tokens))


class LogoutHandler(CodeCrafterHandler):
    @operation(
        "End one sign-in",
        description="Revokes the refresh token and every token rotated from the same sign-in. "
        "An unknown token is not an error.",
        request=LogoutRequest,
        responses={204: None},
        auth=False,
        tags=TAGS,
    )
    async def post(self, *, body: LogoutRequest) -> None:
        await self.services.accounts.logout(body.refresh_token)
        self.set_status(204)
        self.finish()


class LogoutAllHandler(CodeCrafterHandler):
    @operation(
        "End every sign-in of the current user",
        responses={200: LogoutAllResponse},
        tags=TAGS,
    )
    async def post(self, *, user: User) -> None:
        revoked = await self.services.accounts.logout_all(user)
        self.reply(200, LogoutAllResponse(revoked=revoked))


class ProfileHandler(CodeCrafterHandler):
    @operation("Read the current user's profile", responses={200: ProfileResponse}, tags=TAGS)
    async def get(self, *, user: User) -> None:
        self.reply(200, ProfileResponse(user=ProfileOut.from_record(user)))

    @operation(
        "Change the current user's email, display name or preferences",
        description="Fields left out are unchanged. A new email needs current_password "
        "(401 when wrong) and answers 409 when taken.",
        request=UpdateProfileRequest,
        responses={200: ProfileResponse, 409: ErrorResponse},
        tags=TAGS,
    )
    async def put(self, *, user: User, body: UpdateProfileRequest) -> None:
        updated = await self.services.accounts.update_profile(
            user,
            email=str(body.email) if body.email is not None else None,
            display_name=body.display_name,
            preferences=body.preferences,
            current_password=body.current_password,
        )
        self.reply(200, ProfileResponse(user=ProfileOut.from_record(updated)))


class PasswordHandler(CodeCrafterHandler):
    @operation(
        "Change the current user's password",
        description="Needs the current password (401 when wrong). Every refresh token of "
        "the user is revoked, so other sign-ins end; the answer is a fresh token pair.",
        request=ChangePasswordRequest,
        responses={200: AuthResponse},
        tags=TAGS,
    )
    async def post(self, *, user: User, body: ChangePasswordRequest) -> None:
        tokens = await self.services.accounts.change_password(
            user, body.current_password, body.new_password, ip=self.client_ip
        )
        self.reply(200, auth_response(user, tokens))


handlers = [
    (r"/auth/register", RegisterHandler),
    (r"/auth/login", LoginHandler),
    (r"/auth/refresh", RefreshHandler),
    (r"/auth/logout", LogoutHandler),
    (r"/auth/logout-all", LogoutAllHandler),
    (r"/auth/profile", ProfileHandler),
    (r"/auth/password", PasswordHandler),
]
