"""The HTTP and WebSocket API: handlers parse, authorize, call a service and serialize.

Each module ends with its ``handlers`` table; :func:`url_table` joins them under the prefix.
"""

from __future__ import annotations

from typing import Any

from ..constants import API_PREFIX
from . import auth, collaborators, execute, health, invites, rooms, sessions


def url_table() -> list[tuple[str, Any]]:
    """Every CodeCrafter route; the server prepends its base URL."""
    prefix = "/" + API_PREFIX
    # invites first: its /sessions/join would otherwise match /sessions/{id}.
    modules = (auth, invites, collaborators, sessions, execute, rooms, health)
    return [
        (prefix + pattern, handler) for module in modules for pattern, handler in module.handlers
    ]
