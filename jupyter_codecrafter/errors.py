"""The exceptions of jupyter-codecrafter, one hierarchy for the whole package.

Every error a user can cause or observe is a :class:`CodeCrafterError`. Each carries a
stable machine ``code``, a human ``message``, optional ``details`` and the HTTP status the
API answers with, so the handlers serialize any of them the same way::

    CodeCrafterError                    500 internal_error
    ├── BadRequest                      400 bad_request
    │   └── ValidationFailed            422 validation_error
    ├── PayloadTooLarge                 413 payload_too_large
    ├── UnsupportedMediaType            415 unsupported_media_type
    ├── AuthenticationFailed            401 unauthenticated
    │   ├── InvalidCredentials          401 invalid_credentials
    │   └── InvalidToken                401 invalid_token
    │       ├── TokenExpired            401 token_expired
    │       └── TokenReused             401 token_reused
    ├── PermissionDenied                403 forbidden
    │   └── SandboxRequired             403 sandbox_required
    ├── NotFound                        404 not_found
    ├── Conflict                        409 conflict
    │   ├── DuplicateError              409 duplicate
    │   ├── AlreadyFinished             409 already_finished
    │   └── NoKernel                    409 no_kernel
    ├── Gone                            410 gone
    ├── RateLimited                     429 rate_limited
    ├── MalformedMessage                500 malformed_message   (between our processes)
    ├── ServiceUnavailable              503 service_unavailable
    │   └── QueueFull                   503 queue_full
    └── BackendError                    503 backend_error
        ├── StoreError                  503 store_error
        ├── BusError                    503 bus_error
        ├── QueueError                  503 queue_error
        └── SandboxError                503 sandbox_error

Errors raised by pymongo, sqlite3, redis, aio-pika and docker are translated into the
``BackendError`` branch where they cross into this package (``raise StoreError(...) from exc``).
"""

from __future__ import annotations

from typing import Any


class CodeCrafterError(Exception):
    """Base class: an error with a stable code, a message, details and an HTTP status."""

    status: int = 500
    code: str = "internal_error"
    default_message: str = "Internal error."

    def __init__(self, message: str | None = None, *, details: Any = None) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)

    def to_dict(self) -> dict[str, Any]:
        """The JSON error body: ``{"error": {"code", "message", "details"}}``."""
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class BadRequest(CodeCrafterError):
    status, code, default_message = 400, "bad_request", "The request is malformed."


class ValidationFailed(BadRequest):
    status, code, default_message = 422, "validation_error", "The request is not valid."


class PayloadTooLarge(CodeCrafterError):
    status, code, default_message = 413, "payload_too_large", "The request body is too large."


class UnsupportedMediaType(CodeCrafterError):
    status, code = 415, "unsupported_media_type"
    default_message = "The request body must be application/json."


class AuthenticationFailed(CodeCrafterError):
    status, code, default_message = 401, "unauthenticated", "Authentication is required."


class InvalidCredentials(AuthenticationFailed):
    code, default_message = "invalid_credentials", "Invalid login or password."


class InvalidToken(AuthenticationFailed):
    code, default_message = "invalid_token", "The token is invalid."


class TokenExpired(InvalidToken):
    code, default_message = "token_expired", "The token has expired."


class TokenReused(InvalidToken):
    code, default_message = "token_reused", "The refresh token was already used."


class PermissionDenied(CodeCrafterError):
    status, code, default_message = 403, "forbidden", "You are not allowed to do this."


class SandboxRequired(PermissionDenied):
    """Code would run unconfined, and this user may not do that."""

    code = "sandbox_required"
    default_message = (
        "This server runs code without a sandbox, where it could read the server's secrets, "
        "so only its admins may run code. Ask the operator to install bubblewrap "
        "(apt-get install bubblewrap) or Docker with the sandbox image."
    )


class NotFound(CodeCrafterError):
    status, code, default_message = 404, "not_found", "Not found."


class Conflict(CodeCrafterError):
    status, code, default_message = 409, "conflict", "The request conflicts with existing data."


class DuplicateError(Conflict):
    """A unique field is already taken; ``field`` names it."""

    code = "duplicate"

    def __init__(self, field: str, message: str | None = None) -> None:
        self.field = field
        super().__init__(message or f"This {field} is already taken.", details={"field": field})


class AlreadyFinished(Conflict):
    code, default_message = "already_finished", "The job has already finished."


class NoKernel(Conflict):
    code, default_message = "no_kernel", "No kernel is running for this session."


class Gone(CodeCrafterError):
    status, code, default_message = 410, "gone", "This is no longer available."


class RateLimited(CodeCrafterError):
    status, code, default_message = 429, "rate_limited", "Too many requests."

    def __init__(self, retry_after_s: int, message: str | None = None) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message, details={"retry_after_s": retry_after_s})


class MalformedMessage(CodeCrafterError):
    """A message between our own processes (queue, bus) that cannot be decoded: a bug or a
    version mismatch, never something a user sent."""

    code, default_message = "malformed_message", "An internal message could not be decoded."


class ServiceUnavailable(CodeCrafterError):
    status, code = 503, "service_unavailable"
    default_message = "The service is temporarily unavailable."


class QueueFull(ServiceUnavailable):
    code, default_message = "queue_full", "Too many runs are waiting; try again shortly."


class BackendError(CodeCrafterError):
    status, code, default_message = 503, "backend_error", "A backend service failed."


class StoreError(BackendError):
    code, default_message = "store_error", "The data store failed."


class BusError(BackendError):
    code, default_message = "bus_error", "The pub/sub service failed."


class QueueError(BackendError):
    code, default_message = "queue_error", "The job queue failed."


class SandboxError(BackendError):
    code, default_message = "sandbox_error", "The sandbox failed."
