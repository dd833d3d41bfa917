"""A bare WebSocket server in front of a RoomManager (the ``websockets`` library), so real
socket clients — tests/yclient.py and stock Yjs in Node — can be tested against the rooms
without a Jupyter server. It adapts sockets the way the tornado handler in api/ does.

URL: ``ws://127.0.0.1:<port>/<session_id>?user=<name>&role=<role>&kind=<kind>`` (test only:
identity comes from the query, where the real handler checks a JWT).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from jupyter_codecrafter.rooms.manager import RoomManager
from jupyter_codecrafter.store.records import SessionKind, SessionRole
from tests.rooms.harness import identity


class WebsocketsConnection:
    """The rooms' ``Connection`` over a websockets server connection."""

    def __init__(self, ws: ServerConnection) -> None:
        self._ws = ws

    async def send(self, message: bytes) -> None:
        with contextlib.suppress(ConnectionClosed):  # on_close reports it, as in tornado
            await self._ws.send(message)

    async def close(self, code: int, reason: str) -> None:
        await self._ws.close(code, reason)


@asynccontextmanager
async def serve_rooms(manager: RoomManager) -> AsyncIterator[str]:
    """Serve the manager's rooms; yields the base URL."""

    async def handler(ws: ServerConnection) -> None:
        assert ws.request is not None
        url = urlsplit(ws.request.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        client = await manager.connect(
            url.path.strip("/"),
            SessionKind(query.get("kind", "notebook")),
            WebsocketsConnection(ws),
            identity=identity(query.get("user", "anon")),
            role=SessionRole(query.get("role", "write")),
        )
        try:
            async for message in ws:
                if isinstance(message, bytes):
                    await client.receive(message)
        except ConnectionClosed:
            pass
        finally:
            await client.disconnect()

    async with serve(handler, "127.0.0.1", 0, max_size=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"
