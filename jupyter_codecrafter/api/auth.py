"""Auth endpoints: register, log in, rotate, log out, and the signed-in user's profile.

Access tokens are short-lived JWTs sent as ``Authorization: Bearer``; refresh tokens are
opaque, rotated on every use, and only their hash is stored. Logging out revokes refresh
tokens; an access token stays valid until it expires (15 minutes by default).

Browsers ask for the refresh token as a cookie (``refresh_cookie``): HttpOnly, so no page
script can read it, SameSite=Strict and scoped to ``/api/codecrafter/auth``. Spending it
from the cookie needs Jupyter's XSRF token, as any cookie-authenticated request does. On a
server whose Jupyter users are CodeCrafter accounts (``api/identity.py``), a refresh with
neither token nor cookie signs the browser's Jupyter user in; on a demo server
(``demo_username``, see ``demo.py``) whoever Jupyter signed in gets the demo account.
"""

from __future__ import annotations

from jupyter_server.utils import url_path_join
from tornado import web

from ..accounts.service import TokenPair
from ..constants import API_PREFIX
from ..errors import InvalidToken
from ..store.records import User
from .base import CodeCrafterHandler
from .identity import CodeCrafterJupyterUser
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


REFRESH_COOKIE = "codecrafter_refresh"


def auth_response(user: User, tokens: TokenPair, *, in_cookie: bool = False) -> AuthResponse:
    return AuthResponse(
        user=UserOut.from_record(user),
        access_token=tokens.access_token,
        refresh_token=None if in_cookie else tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


class AuthHandler(CodeCrafterHandler):
    """Token pairs in the body, or the refresh token in a cookie for browsers."""

    @property
    def cookie_path(self) -> str:
        return url_path_join(self.base_url, API_PREFIX, "auth")

    def reply_tokens(self, status: int, user: User, tokens: TokenPair, *, cookie: bool) -> None:
        if cookie:
            self.set_cookie(
                REFRESH_COOKIE,
                tokens.refresh_token,
                path=self.cookie_path,
                httponly=True,
                samesite="Strict",
                secure=self.request.protocol == "https",
                expires_days=self.services.settings.refresh_token_ttl_s / 86400,
            )
        self.reply(status, auth_response(user, tokens, in_cookie=cookie))

    def refresh_cookie(self) -> str | None:
        """The refresh cookie, once Jupyter's XSRF token proves the page sent it."""
        token = self.get_cookie(REFRESH_COOKIE)
        if token:
            web.RequestHandler.check_xsrf_cookie(self)  # 403 without a matching X-XSRFToken
        return token or None

    def clear_refresh_cookie(self) -> None:
        self.clear_cookie(REFRESH_COOKIE, path=self.cookie_path)


class RegisterHandler(AuthHandler):
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
        self.reply_tokens(201, user, tokens, cookie=body.refresh_cookie)


class LoginHandler(AuthHandler):
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
        self.reply_tokens(200, user, tokens, cookie=body.refresh_cookie)


class RefreshHandler(AuthHandler):
    @operation(
        "Exchange a refresh token for a new token pair",
        description="The refresh token is spent: presenting it again revokes every token "
        "rotated from the same sign-in (401 token_reused). Without refresh_token the cookie "
        "is used (and rotated); without either, a browser signed in to Jupyter as a "
        "CodeCrafter account gets a new sign-in of that account.",
        request=RefreshRequest,
        responses={200: AuthResponse, 401: ErrorResponse, 403: ErrorResponse},
        auth=False,
        tags=TAGS,
    )
    async def post(self, *, body: RefreshRequest) -> None:
        accounts = self.services.accounts
        token = body.refresh_token or self.refresh_cookie()
        if token is not None:
            user, tokens = await accounts.refresh(token, ip=self.client_ip)
        else:
            user = await self._jupyter_account()
            tokens = await accounts.sign_in(user, ip=self.client_ip)
        self.reply_tokens(200, user, tokens, cookie=body.refresh_token is None)

    async def _jupyter_account(self) -> User:
        """The account of the user Jupyter signed in: their own on a server whose Jupyter
        users are CodeCrafter accounts, the demo account on a demo server."""
        jupyter_user = self.current_user
        if isinstance(jupyter_user, CodeCrafterJupyterUser):
            return await self.services.accounts.get_user(jupyter_user.user_id)
        demo = self.services.demo
        if demo is not None and jupyter_user and self.identity_provider.auth_enabled:
            return await self.services.accounts.get_user(demo.user.id)
        raise InvalidToken("No refresh token: sign in first.")


class LogoutHandler(AuthHandler):
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
        token = body.refresh_token or self.refresh_cookie()
        if token is not None:
            await self.services.accounts.logout(token)
        if body.refresh_token is None:
            self.clear_refresh_cookie()
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
