"""The room WebSocket: y-websocket protocol, authenticated with the access JWT.

The handler only authenticates, authorizes and adapts tornado's socket to the room
manager's ``Connection``; the protocol lives in ``rooms/``.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketHandler, WebSocketProtocol13

from ..rooms.manager import Identity, RoomClient
from ..store.records import Session, SessionRole
from .sockets import SessionSocketHandler


class _Frames:
    """The last message's WebSocket frame: a broadcast hands the same message to every
    client of a room, so its frame is built once, not once per client."""

    def __init__(self) -> None:
        self._message = b""
        self._frame = _binary_frame(b"")

    def of(self, message: bytes) -> bytes:
        if message is not self._message:  # the cache holds it, so its id is not reused
            self._message, self._frame = message, _binary_frame(message)
        return self._frame


def _binary_frame(payload: bytes) -> bytes:
    """A final, unmasked, uncompressed binary frame (RFC 6455 5.2), as a server sends it."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x82, size)
    elif size <= 0xFFFF:
        header = struct.pack("!BBH", 0x82, 126, size)
    else:
        header = struct.pack("!BBQ", 0x82, 127, size)
    return header + payload


_frames = _Frames()


class TornadoConnection:
    """The room manager's view of one WebSocket.

    Frames go straight to the socket's stream: ``write_message`` would build the same frame
    again for every client and wrap every write in a task of its own, which in a room of
    200 costs more than the writes themselves. The handler turns compression off, so a
    frame is the same bytes for every client.
    """

    def __init__(self, handler: WebSocketHandler) -> None:
        self._handler = handler

    def send(self, message: bytes) -> asyncio.Future[None]:
        protocol = self._handler.ws_connection
        if isinstance(protocol, WebSocketProtocol13) and not protocol.is_closing():
            try:
                return protocol.stream.write(_frames.of(message))
            except StreamClosedError:
                pass
        return _done()  # a closed socket is reported to the room through on_close

    async def close(self, code: int, reason: str) -> None:
        self._handler.close(code, reason)


class RoomHandler(SessionSocketHandler):
    _client: RoomClient | None = None
    _session: Session
    _role: SessionRole
    _identity: Identity

    async def _authorize(self, session_id: str) -> None:
        user, self._session, self._role = await self._viewer(session_id)
        self._identity = Identity(
            user_id=user.id, username=user.username, display_name=user.display_name
        )

    def get_compression_options(self) -> None:
        # TornadoConnection writes ready-made frames, the same bytes for every client.
        return None

    async def open(self, *args: Any, **kwargs: Any) -> None:
        # Room messages are small and latency is what counts: with Nagle's algorithm on (how
        # tornado leaves a socket after the upgrade) a keystroke could wait for the
        # client's delayed ACK of the previous one.
        self.set_nodelay(True)
        self._client = await self.services.rooms.connect(
            self._session.id,
            self._session.kind,
            TornadoConnection(self),
            identity=self._identity,
            role=self._role,
        )

    async def on_message(self, message: str | bytes) -> None:
        if isinstance(message, str):
            self.close(1003, "The room speaks binary y-websocket messages only.")
        elif self._client is not None:
            await self._client.receive(message)

    def on_close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            task = asyncio.ensure_future(client.disconnect())
            self.services.keep(task)


def _done() -> asyncio.Future[None]:
    done = asyncio.get_running_loop().create_future()
    done.set_result(None)
    return done


handlers = [(r"/rooms/(?P<session_id>[A-Za-z0-9_-]{1,64})", RoomHandler)]
