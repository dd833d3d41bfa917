"""Who is on the other end of a room connection, and how the room talks to it."""

from __future__ import annotations

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

    async def send(self, message: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...
