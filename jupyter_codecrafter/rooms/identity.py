"""Who is on the other end of a room connection, and how the room talks to it."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Identity:
    """The authenticated user behind a connection; shown to others in awareness."""

    user_id: str
    username: str
    display_name: str


class Connection(Protocol):
    """One client socket, as the WebSocket handler adapts it for the rooms."""

    def send(self, message: bytes) -> Awaitable[None]:
        """Start writing ``message`` now; what is returned completes once the socket took it
        (a future already done when it took it at once), failing if the connection is lost."""
        ...

    async def close(self, code: int, reason: str) -> None: ...
