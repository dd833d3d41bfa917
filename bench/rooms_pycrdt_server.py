"""pycrdt-websocket's server, the baseline of the fan-out benchmark.

Serves ``WebsocketServer`` rooms (in memory, one per URL path) over the ``websockets``
library, as pycrdt-websocket's README shows. Prints ``ready`` once it listens. Run by
``bench/rooms_fanout.py``: ``python bench/rooms_pycrdt_server.py PORT``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from typing import Any

from pycrdt.websocket import WebsocketServer
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed


class WebsocketsChannel:
    """pycrdt's ``Channel`` over a websockets connection."""

    def __init__(self, ws: ServerConnection) -> None:
        self._ws = ws
        assert ws.request is not None
        self._path = ws.request.path

    @property
    def path(self) -> str:
        return self._path

    def __aiter__(self) -> WebsocketsChannel:
        return self

    async def __anext__(self) -> bytes:
        try:
            return await self.recv()
        except ConnectionClosed as exc:
            raise StopAsyncIteration() from exc

    async def send(self, message: bytes) -> None:
        # A closed client is noticed by its reader; raising here would end every room.
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(message)

    async def recv(self) -> bytes:
        message: Any = await self._ws.recv()
        return bytes(message)


async def main(port: int) -> None:
    async with WebsocketServer() as server:

        async def handler(ws: ServerConnection) -> None:
            await server.serve(WebsocketsChannel(ws))  # type: ignore[arg-type]

        async with serve(handler, "127.0.0.1", port, max_size=None):
            print("ready", flush=True)
            await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
