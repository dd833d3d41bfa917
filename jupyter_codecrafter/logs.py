"""Structured logs and request ids.

With ``json_logs`` every log line is one JSON object (time, level, logger,
message, request_id when there is one). A request id comes from the client's
``X-Request-Id`` (when well formed) or is made here; it travels with a job to the worker
(``JobMessage.request_id``) and back with its events, so one grep follows a run through
every process.

Nothing here logs secrets, and the formatter scrubs what others might: ``token=`` query
values, ``Bearer`` credentials and ``password`` fields become ``[redacted]``.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime

_log = logging.getLogger("jupyter_codecrafter.execution")
REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = ContextVar[str | None]("codecrafter_request_id", default=None)
_VALID_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_SECRETS = (
    (re.compile(r"((?:token|_xsrf)=)[^&\s\"']+", re.IGNORECASE), r"\1[redacted]"),
    (re.compile(r"(Bearer\s+|token\s+)[A-Za-z0-9._~+/=-]{8,}", re.IGNORECASE), r"\1[redacted]"),
    (re.compile(r"(\"?password\"?\s*[:=]\s*)(\"[^\"]*\"|\S+)", re.IGNORECASE), r"\1[redacted]"),
)


def new_request_id(given: str | None = None) -> str:
    """The client's id when it is a short plain token, else a fresh one."""
    if given and _VALID_ID.match(given):
        return given
    return uuid.uuid4().hex


def set_request_id(request_id: str | None) -> None:
    """The id of what this task is doing now (a request, a job); None clears it."""
    _REQUEST_ID.set(request_id)


def current_request_id() -> str | None:
    return _REQUEST_ID.get()


def scrub(text: str) -> str:
    """``text`` with tokens and passwords replaced by ``[redacted]``."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (None outside a request or a job)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, exc_info."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        if record.exc_info:
            entry["exc_info"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


def use_json(loggers: Iterable[logging.Logger]) -> None:
    """Give every handler of ``loggers`` the JSON formatter and the request-id filter."""
    for logger in loggers:
        for handler in logger.handlers:
            handler.setFormatter(JsonFormatter())
            handler.addFilter(RequestIdFilter())


def configure_package_logging(parent: logging.Logger, *, json_lines: bool) -> None:
    """Send this package's records through ``parent``'s handlers (Jupyter's log, or the
    worker's root), formatted as JSON lines when asked."""
    package = logging.getLogger("jupyter_codecrafter")
    if package.parent is not parent and package is not parent:
        package.parent = parent
    package.setLevel(min(parent.getEffectiveLevel(), logging.INFO))
    if json_lines:
        use_json([parent])


def job_event_received(
    job_id: str, kind: object, status: str | None, extra: dict[str, object]
) -> None:
    """A server instance got an event of a job it queued: the request id comes back with
    it (into this task's logs), and a finished run is logged once, at info."""
    request_id = extra.get("request_id")
    set_request_id(request_id if isinstance(request_id, str) else None)
    if status is not None:
        _log.info("job %s %s: %s", job_id, kind, status)
