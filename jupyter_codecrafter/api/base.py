"""The base of every CodeCrafter handler: Bearer auth, JSON bodies, JSON errors.

CodeCrafter API calls authenticate with ``Authorization: Bearer <access JWT>``, not with the
Jupyter token, so scripts and other frontends can call them; the methods are therefore
marked ``allow_unauthenticated`` for Jupyter's own auth, and checked here instead.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from tornado import web

from ..errors import (
    AuthenticationFailed,
    BadRequest,
    CodeCrafterError,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
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


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class CodeCrafterHandler(ExtensionHandlerMixin, APIHandler):
    """Parse, authorize, call a service, serialize: nothing else belongs in a handler."""

    @property
    def services(self) -> Services:
        return self.settings["codecrafter"]  # type: ignore[no-any-return]

    def check_xsrf_cookie(self) -> None:
        # A Bearer token is not sent by a browser on its own, so it cannot be forged
        # cross-site; only cookie-authenticated requests need the XSRF check.
        if self.bearer is None:
            super().check_xsrf_cookie()

    async def prepare(self) -> None:  # type: ignore[override]  # as APIHandler.prepare
        await super().prepare()
        await self.services.ready()
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Cache-Control", "no-store")

    async def before_operation(self, operation: Operation) -> None:
        """Checks every operation passes first (rate limits hook in here)."""

    @property
    def bearer(self) -> str | None:
        return bearer_token(self.request.headers.get("Authorization"))

    async def authenticated_user(self) -> User:
        token = self.bearer
        if token is None:
            raise AuthenticationFailed("Send 'Authorization: Bearer <access token>'.")
        return await self.services.accounts.authenticate(token)

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
            data = json.loads(body)
        except ValueError as exc:
            raise BadRequest("The body is not valid JSON.") from exc
        try:
            return model.model_validate(data)
        except PydanticValidationError as exc:
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
        self.set_status(error.status)
        if error.status == 429 and hasattr(error, "retry_after_s"):
            self.set_header("Retry-After", str(error.retry_after_s))
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(error.to_dict(), default=str))

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        # Expected errors are answers, not faults: no traceback in the log for them.
        if isinstance(value, CodeCrafterError) and value.status < 500:
            return
        super().log_exception(typ, value, tb)


def _as_error(status_code: int, exc_info: Any) -> CodeCrafterError:
    exc = exc_info[1] if exc_info else None
    if isinstance(exc, CodeCrafterError):
        return exc
    error = CodeCrafterError()
    if isinstance(exc, web.HTTPError) and exc.status_code < 500:
        error.status = exc.status_code
        error.code = _STATUS_CODES.get(exc.status_code, "http_error")
        error.message = exc.log_message or exc.reason or error.message
    return error
