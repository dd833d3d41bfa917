"""The HTTP and WebSocket API: handlers parse, authorize, call a service and serialize.

Each module ends with its ``handlers`` table; :func:`url_table` joins them under the prefix.
"""

from __future__ import annotations

import re
from typing import Any

from tornado import web

from ..constants import API_PREFIX
from . import (
    admin,
    auth,
    collaborators,
    execute,
    fallback,
    health,
    invites,
    kernel_channel,
    kernels,
    openapi,
    rooms,
    sessions,
)
from .base import CodeCrafterHandler


def url_table() -> list[tuple[str, Any]]:
    """Every CodeCrafter route; the server prepends its base URL."""
    prefix = "/" + API_PREFIX
    # invites first: its /sessions/join would otherwise match /sessions/{id}.
    # fallback last: a JSON 404 for any other path under the prefix.
    modules = (
        auth,
        invites,
        collaborators,
        sessions,
        kernels,
        kernel_channel,
        execute,
        rooms,
        health,
        admin,
        openapi,
        fallback,
    )
    table = [(pattern, handler) for module in modules for pattern, handler in module.handlers]
    for pattern, handler in table:
        if issubclass(handler, CodeCrafterHandler) and handler is not fallback.NotFoundHandler:
            handler.route = route_label(pattern)
    return [(prefix + pattern, handler) for pattern, handler in table]


def route_label(pattern: str) -> str:
    """A URL pattern as metrics name it: ``/sessions/(?P<session_id>...)`` is
    ``/sessions/{session_id}``."""
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern).replace("\\.", ".")


def metric_routes() -> list[tuple[str, list[str]]]:
    """Every route and the methods it answers, to create their metrics up front."""
    routes = []
    for _, handler in url_table():
        methods = [m for m in ("GET", "POST", "PUT", "DELETE") if _answers(handler, m)]
        if issubclass(handler, CodeCrafterHandler) and handler.route != "other" and methods:
            routes.append((handler.route, methods))
    return routes


def _answers(handler: Any, method: str) -> bool:
    own = getattr(handler, method.lower(), None)
    return own is not None and own is not getattr(web.RequestHandler, method.lower(), None)
