"""The base of every CodeCrafter handler: Bearer auth, JSON bodies, JSON errors, and the
API-wide rules: rate limits, security headers, CORS and XSRF.

CodeCrafter API calls authenticate with ``Authorization: Bearer <access JWT>``, not with the
Jupyter token, so scripts and other frontends can call them; the methods are therefore
marked ``allow_unauthenticated`` for Jupyter's own auth, and checked here instead.
"""

from __future__ import annotations

import inspect
import json
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from tornado import web

from .. import metrics
from ..errors import (
    AuthenticationFailed,
    BadRequest,
    BusError,
    CodeCrafterError,
    PayloadTooLarge,
    QueueError,
    StoreError,
    UnsupportedMediaType,
    ValidationFailed,
)
from ..logs import REQUEST_ID_HEADER, new_request_id, set_request_id
from ..store.records import User
from .operation import Operation, validation_details

if TYPE_CHECKING:
    from ..services import Services

ModelT = TypeVar("ModelT", bound=BaseModel)

_STATUS_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "service_unavailable",
}


# On every CodeCrafter response, errors included (tornado re-applies defaults before errors).
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # tokens and personal data: never kept by caches
    "X-Frame-Options": "DENY",
}
# JSON is never a page: nothing may load, run or frame it.
CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'"
CORS_ALLOW_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE_S = 600
# A backend that is away (503) is usually back within seconds: clients may retry that soon.
UNAVAILABLE_RETRY_AFTER_S = 5


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class CodeCrafterHandler(ExtensionHandlerMixin, APIHandler):
    """Parse, authorize, call a service, serialize: nothing else belongs in a handler."""

    @property
    def services(self) -> Services:
        return self.settings["codecrafter"]  # type: ignore[no-any-return]

    def check_xsrf_cookie(self) -> None:
        # Only what a browser sends on its own (a login cookie) can be forged cross-site: a
        # Bearer token cannot, and a request with no credentials has no authority to abuse.
        if self.bearer is None and self._cookie_authenticated():
            super().check_xsrf_cookie()

    def _cookie_authenticated(self) -> bool:
        # Before prepare() has identified the user this is unknown; prepare() asks again.
        # With Jupyter's auth off (an empty token) everyone is Jupyter's anonymous user and
        # no cookie carries any authority, so there is nothing to forge.
        user = getattr(self, "_jupyter_current_user", None)
        if user is None or not self.identity_provider.auth_enabled:
            return False
        return not self.token_authenticated

    # Route label of this handler's metrics (the URL pattern, set by api.url_table).
    route: str = "other"
    # Requests wait while the services start; health answers at once instead.
    waits_until_ready = True

    _in_flight = False

    async def prepare(self) -> None:  # type: ignore[override]  # as APIHandler.prepare
        self.services.requests.begin()
        self._in_flight = True
        self.request_id = new_request_id(self.request.headers.get(REQUEST_ID_HEADER))
        set_request_id(self.request_id)
        self.set_header(REQUEST_ID_HEADER, self.request_id)
        await super().prepare()
        if self.waits_until_ready:
            await self.services.ready()

    def on_finish(self) -> None:
        super().on_finish()
        if self._in_flight:
            self._in_flight = False
            self.services.requests.end()
        seconds = self.request.request_time()
        metrics.api_request(self.route, self.request.method or "GET", self.get_status(), seconds)
        set_request_id(None)

    @property
    def content_security_policy(self) -> str:
        return CONTENT_SECURITY_POLICY

    def set_default_headers(self) -> None:
        super().set_default_headers()
        for name, value in SECURITY_HEADERS.items():
            self.set_header(name, value)
        origin = self.cors_origin
        if origin is not None:
            self.set_header("Access-Control-Allow-Origin", origin)
            self.set_header("Access-Control-Expose-Headers", "Retry-After")
            self.set_header("Vary", "Origin")

    @property
    def cors_origin(self) -> str | None:
        """The request's Origin when the cors_origins setting lists it."""
        origin = self.request.headers.get("Origin")
        allowed = self.services.settings.cors_origins
        return origin if origin and origin.rstrip("/").lower() in _normalised(allowed) else None

    def check_origin(self, origin_to_satisfy_tornado: str = "") -> bool:
        return self.cors_origin is not None or super().check_origin(origin_to_satisfy_tornado)

    def set_cors_headers(self) -> None:
        # Jupyter's own allow_origin settings apply unless the origin is one of ours.
        if self.cors_origin is None:
            super().set_cors_headers()

    @allow_unauthenticated
    def options(self, *args: Any, **kwargs: Any) -> None:
        """CORS preflight: allowed origins may send the Bearer header and JSON."""
        if self.cors_origin is None:
            super().options(*args, **kwargs)
            return
        methods = [m for m in self.allowed_methods() if m != "OPTIONS"]
        self.set_header("Access-Control-Allow-Methods", ", ".join(methods))
        self.set_header("Access-Control-Allow-Headers", CORS_ALLOW_HEADERS)
        self.set_header("Access-Control-Max-Age", str(CORS_MAX_AGE_S))
        self.set_status(204)
        self.finish()

    def allowed_methods(self) -> list[str]:
        """The HTTP methods this endpoint answers (for Allow and CORS preflights)."""
        return [m for m in self.SUPPORTED_METHODS if m == "OPTIONS" or _defines(self, m)]

    @property
    def client_ip(self) -> str:
        """The client's address (the proxy's unless ServerApp.trust_xheaders is set)."""
        return self.request.remote_ip or "unknown"

    async def before_operation(self, operation: Operation) -> None:
        """Rate limits, checked before anything else: per user with a valid access token,
        per client IP without one, plus the operation's own rule."""
        if not operation.rate_limited:
            return
        limiter = self.services.limiter
        user_id = self.services.accounts.user_id_of(self.bearer)
        if operation.rate_limit is not None:
            per = limiter.per(operation.rate_limit)
            key = user_id if per == "user" else self.client_ip
            if key is not None:
                await limiter.hit(operation.rate_limit, key)
        if user_id is not None:
            await limiter.hit("authenticated", user_id)
        else:
            await limiter.hit("unauthenticated", self.client_ip)

    @property
    def bearer(self) -> str | None:
        return bearer_token(self.request.headers.get("Authorization"))

    async def authenticated_user(self) -> User:
        token = self.bearer
        if token is None:
            raise AuthenticationFailed("Send 'Authorization: Bearer <access token>'.")
        return await self.services.accounts.authenticate(token)

    async def host_access(self) -> bool:
        """Whether Jupyter Server itself authenticated this request (its token, or its login
        cookie with a valid XSRF token) as a user its authorizer lets start kernels on the
        host. Such a user can already run anything there, so running unconfined code here
        gives them nothing new. Never true when Jupyter's auth is disabled."""
        user = self.current_user
        if not self.services.settings.trust_jupyter_users or not user:
            return False
        if not self.identity_provider.auth_enabled:
            return False
        if not self.token_authenticated and not self._xsrf_valid():
            return False
        allowed = self.authorizer.is_authorized(self, user, "execute", "kernels")
        return bool(await allowed if inspect.isawaitable(allowed) else allowed)

    def _xsrf_valid(self) -> bool:
        try:
            APIHandler.check_xsrf_cookie(self)
        except web.HTTPError:
            return False
        return True

    def parse_body(self, model: type[ModelT], *, max_bytes: int | None = None) -> ModelT:
        """The JSON body validated against ``model``; 413/415/400/422 otherwise."""
        body = self.request.body or b""
        limit = max_bytes or self.services.settings.max_body_bytes
        if len(body) > limit:
            raise PayloadTooLarge(details={"max_bytes": limit})
        content_type = self.request.headers.get("Content-Type", "").split(";")[0].strip()
        if content_type != "application/json":
            raise UnsupportedMediaType()
        try:
            # pydantic's own JSON parser refuses what json.loads lets through to fail later:
            # lone surrogates (unencodable), NaN, nesting over 200 levels (RecursionError).
            # Strict: JSON types as documented (no "1" for 1, no 0 for false).
            return model.model_validate_json(body, strict=True)
        except PydanticValidationError as exc:
            if any(error["type"] == "json_invalid" for error in exc.errors()):
                raise BadRequest("The body is not valid JSON.") from exc
            raise ValidationFailed(details=validation_details(exc)) from exc

    def reply(self, status: int, payload: BaseModel | dict[str, Any]) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        if isinstance(payload, BaseModel):
            self.finish(payload.model_dump_json())
        else:
            self.finish(json.dumps(payload, default=str))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = _as_error(status_code, kwargs.get("exc_info"))
        if error.status == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        send_error(self, error)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Expected errors are answers, not faults: no traceback in the log for them.
        if isinstance(value, CodeCrafterError) and value.status < 500:
            return
        super().log_exception(typ, value, tb)


def send_error(handler: web.RequestHandler, error: CodeCrafterError) -> None:
    """Answer with ``error`` as the API's JSON error: its status, and Retry-After when a
    retry can succeed (any request handler: the sockets refuse their upgrade with it)."""
    count_backend_error(error)
    handler.set_status(error.status)
    if error.status in (429, 503):  # a backend coming back (503) is worth a retry too
        retry_after_s = getattr(error, "retry_after_s", UNAVAILABLE_RETRY_AFTER_S)
        handler.set_header("Retry-After", str(retry_after_s))
    handler.set_header("Content-Type", "application/json")
    handler.finish(json.dumps(error.to_dict(), default=str))


def count_backend_error(error: CodeCrafterError) -> None:
    for kind, backend in ((StoreError, "store"), (QueueError, "broker"), (BusError, "pubsub")):
        if isinstance(error, kind):
            metrics.backend_error(backend)


def _normalised(origins: list[str]) -> set[str]:
    return {origin.rstrip("/").lower() for origin in origins}


def _defines(handler: web.RequestHandler, method: str) -> bool:
    own = getattr(type(handler), method.lower(), None)
    return own is not None and own is not getattr(web.RequestHandler, method.lower(), None)


def _as_error(status_code: int, exc_info: Any) -> CodeCrafterError:
    exc = exc_info[1] if exc_info else None
    if isinstance(exc, CodeCrafterError):
        return exc
    error = CodeCrafterError()
    if isinstance(exc, web.HTTPError) and exc.status_code < 500:
        error.status = exc.status_code
        error.code = _STATUS_CODES.get(exc.status_code, "http_error")
        error.message = exc.log_message or exc.reason or HTTPStatus(exc.status_code).phrase + "."
    return error
