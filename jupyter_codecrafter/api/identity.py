"""Optional: CodeCrafter accounts as Jupyter's own identity, for a shared classroom server.

Opt in with (in jupyter_server_config.py)::

    identity = "jupyter_codecrafter.api.identity."
    c.ServerApp.identity_provider_class = identity + "CodeCrafterIdentityProvider"
    c.ServerApp.authorizer_class = identity + "CodeCrafterAuthorizer"

People then sign in to Jupyter at ``/login`` with their CodeCrafter username (or email) and
password, or open any page with ``?token=<CodeCrafter access token>``; either sets Jupyter's
login cookie. ``Authorization: Bearer <access token>`` works on Jupyter's REST API too.
The Jupyter server token is not accepted: make the operators CodeCrafter admins
(``codecrafter-admin create-user --admin``).

The authorizer lets admins do everything and everyone else only what ``user_permissions``
lists (by default: read the Lab UI, files and contents; no kernels, terminals, file writes
or language servers on the host). Runs go to CodeCrafter's sandboxes instead. The
CodeCrafter API keeps its own Bearer auth and per-session permissions.

Without this configuration Jupyter's own auth is left alone (as under JupyterHub).
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import IdentityProvider
from jupyter_server.auth.identity import User as JupyterUser
from jupyter_server.auth.login import LoginFormHandler
from tornado import web
from tornado.escape import url_escape
from tornado.websocket import WebSocketHandler
from traitlets import Dict, List, Unicode, default

from ..errors import CodeCrafterError, InvalidCredentials, RateLimited
from ..store.records import User, UserRole
from .base import bearer_token

if TYPE_CHECKING:
    from ..services import Services

COOKIE_MAX_AGE_DAYS = 7
MAX_LOGIN_CHARS = 320  # as LoginRequest
MAX_PASSWORD_CHARS = 1024


@dataclass
class CodeCrafterJupyterUser(JupyterUser):
    """A Jupyter user backed by a CodeCrafter account."""

    user_id: str = ""
    role: str = str(UserRole.USER)
    # Changes with the password, so a password change ends cookie sign-ins too.
    fingerprint: str = field(default="", repr=False)


def as_jupyter_user(user: User) -> CodeCrafterJupyterUser:
    return CodeCrafterJupyterUser(
        username=user.username,
        name=user.username,
        display_name=user.display_name or user.username,
        user_id=user.id,
        role=str(user.role),
        fingerprint=hashlib.sha256(user.password_hash.encode()).hexdigest()[:32],
    )


def services_of(handler: web.RequestHandler) -> Services | None:
    return handler.settings.get("codecrafter")


class CodeCrafterIdentityProvider(IdentityProvider):
    """Sign in to Jupyter with CodeCrafter credentials (form, access token, or cookie)."""

    @default("login_handler_class")
    def _default_login_handler_class(self) -> type[web.RequestHandler]:
        return CodeCrafterLoginHandler

    @default("need_token")
    def _default_need_token(self) -> bool:
        return False  # Jupyter's shared token is not how anyone signs in here

    async def get_user(self, handler: web.RequestHandler) -> CodeCrafterJupyterUser | None:
        current = getattr(handler, "_jupyter_current_user", None)
        if current is not None:
            return current  # type: ignore[no-any-return]
        services = services_of(handler)
        if services is None:
            return None
        await services.ready()
        user = await self._user_from_token(handler, services)
        if user is None:
            return await self._user_from_cookie(handler, services)
        # Jupyter's own flag (a private attribute): token requests need no XSRF check.
        setattr(handler, "_token_authenticated", True)  # noqa: B010
        return user

    async def _user_from_token(
        self, handler: web.RequestHandler, services: Services
    ) -> CodeCrafterJupyterUser | None:
        in_query = handler.get_query_argument("token", None)
        token = bearer_token(handler.request.headers.get("Authorization")) or in_query
        if not token:
            return None
        try:
            user = as_jupyter_user(await services.accounts.authenticate(token))
        except CodeCrafterError:
            return None  # not a CodeCrafter access token (or expired): no identity
        if in_query and not isinstance(handler, WebSocketHandler):
            self.set_login_cookie(handler, user)  # a sign-in link: remember it in the browser
        return user

    async def _user_from_cookie(
        self, handler: web.RequestHandler, services: Services
    ) -> CodeCrafterJupyterUser | None:
        raw = handler.get_secure_cookie(
            self.get_cookie_name(handler), max_age_days=COOKIE_MAX_AGE_DAYS
        )
        if not raw:
            return None
        try:
            claims = json.loads(raw)
            account = await services.accounts.get_user(str(claims["id"]))
        except (ValueError, KeyError, TypeError, CodeCrafterError):
            return None
        user = as_jupyter_user(account)  # the current role, not the one at sign-in
        return user if claims.get("pw") == user.fingerprint else None

    def user_to_cookie(self, user: JupyterUser) -> str:
        if not isinstance(user, CodeCrafterJupyterUser):
            raise TypeError("Only CodeCrafter users sign in to this server.")
        return json.dumps({"id": user.user_id, "pw": user.fingerprint})

    def identity_model(self, user: JupyterUser) -> dict[str, Any]:
        model = asdict(user)
        model.pop("fingerprint", None)
        return model

    def process_login_form(self, handler: web.RequestHandler) -> JupyterUser | None:
        # The login handler checks passwords itself (asynchronously, off the event loop).
        return None


class CodeCrafterLoginHandler(LoginFormHandler):
    """The /login page: CodeCrafter username or email and password."""

    def _render(self, message: dict[str, str] | None = None) -> None:
        error = html.escape((message or {}).get("error", ""))
        next_url = url_escape(self.get_argument("next", default=self.base_url))
        action = html.escape(f"{self.base_url}login?next={next_url}")
        self.write(LOGIN_PAGE.format(action=action, xsrf=self.xsrf_form_html(), error=error))

    @allow_unauthenticated
    async def post(self) -> None:
        services = services_of(self)
        if services is None:
            raise web.HTTPError(503, "CodeCrafter is not running on this server.")
        login, password = self.get_argument("login", ""), self.get_argument("password", "")
        try:
            await services.limiter.hit("login", self.request.remote_ip or "unknown")
            if len(login) > MAX_LOGIN_CHARS or len(password) > MAX_PASSWORD_CHARS:
                raise InvalidCredentials()  # the API's caps; hashing megabytes costs the host
            account = await services.accounts.check_password(
                login, password, ip=self.request.remote_ip
            )
        except (InvalidCredentials, RateLimited) as exc:
            self.set_status(exc.status)
            self._render(message={"error": exc.message})
            return
        user = self.current_user = as_jupyter_user(account)
        self.identity_provider.set_login_cookie(self, user)
        next_url = self.get_argument("next", default=self.base_url)
        self._redirect_safe(next_url)  # type: ignore[no-untyped-call]  # unannotated upstream


LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in - CodeCrafter</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: sans-serif; max-width: 22rem; margin: 4rem auto">
<h1>Sign in</h1>
<form action="{action}" method="post">{xsrf}
<p><label>Username or email<br><input name="login" autocomplete="username" required></label></p>
<p><label>Password<br><input name="password" type="password"
 autocomplete="current-password" required></label></p>
<p><button type="submit">Sign in</button></p>
</form>
<p role="alert" style="color: #b00">{error}</p>
</body></html>
"""


# What a non-admin may do on the host, per Jupyter resource; everything else is refused.
DEFAULT_USER_PERMISSIONS: dict[str, list[str]] = {
    "api": ["read"],  # /api/status, /api/me
    "config": ["read"],
    "contents": ["read"],
    "csp": ["write"],  # the browser's Content-Security-Policy reports
    "files": ["read"],
    "kernelspecs": ["read"],
    "nbconvert": ["read"],
    "sessions": ["read"],
}


class CodeCrafterAuthorizer(Authorizer):
    """Admins may do anything; other CodeCrafter users only what user_permissions lists."""

    user_permissions = Dict(
        key_trait=Unicode(),
        value_trait=List(Unicode()),
        default_value=DEFAULT_USER_PERMISSIONS,
        help="Actions (read, write, execute) non-admin users may take per Jupyter resource "
        "(api, contents, files, kernels, kernelspecs, sessions, terminals, ...). Unlisted "
        "resources are refused.",
    ).tag(config=True)

    def is_authorized(
        self, handler: web.RequestHandler, user: JupyterUser, action: str, resource: str
    ) -> bool:
        if not isinstance(user, CodeCrafterJupyterUser):
            return False
        if user.role == str(UserRole.ADMIN):
            return True
        return action in self.user_permissions.get(resource, ())
