"""The HTTP and WebSocket API: handlers parse, authorize, call a service and serialize.

Each module ends with its ``handlers`` table; :func:`url_table` joins them under the prefix.
"""

from __future__ import annotations

from typing import Any

from ..constants import API_PREFIX
from . import (
    admin,
    auth,
    collaborators,
    execute,
    fallback,
    health,
    invites,
    kernels,
    openapi,
    rooms,
    sessions,
)


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
        execute,
        rooms,
        health,
        admin,
        openapi,
        fallback,
    )
    return [
        (prefix + pattern, handler) for module in modules for pattern, handler in module.handlers
    ]
