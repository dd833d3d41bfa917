"""A session's kernel channel: Jupyter's kernel WebSocket protocol, authenticated with the
access JWT (``?token=`` or ``Authorization: Bearer``) and the session's permissions.

Both of Jupyter's framings: ``v1.kernel.websocket.jupyter.org`` (binary, chosen when the
client offers it) and the legacy one (JSON text, or binary with buffers). The handler only
authenticates, translates frames and queues what goes out; the work is in
``execution/kernelchannel.py``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, cast

from jupyter_server.services.kernels.connection import base as codec
from tornado.websocket import WebSocketClosedError

from ..errors import MalformedMessage, NotFound
from ..execution.kernelchannel import ChannelClient
from ..execution.kernelwire import KernelMessage
from ..rooms.protocol import CLOSE_REMOVED, CLOSE_TRY_AGAIN_LATER
from ..store.records import User
from .sessions import SESSION_ID
from .sockets import SessionSocketHandler

log = logging.getLogger("jupyter_codecrafter.api")

V1_PROTOCOL = "v1.kernel.websocket.jupyter.org"
SEND_QUEUE = 1024  # messages waiting for a slow client; past this it is dropped
CLOSE_UNSUPPORTED = 1003
CLOSE_INVALID = 1007

# Jupyter Server's own frame codecs, typed (they are not).
_from_v1 = cast(Callable[[str | bytes], tuple[str, list[bytes]]], codec.deserialize_msg_from_ws_v1)
_to_v1 = cast(Callable[[list[bytes], str], bytes], codec.serialize_msg_to_ws_v1)
_from_binary = cast(Callable[[bytes], dict[str, Any]], codec.deserialize_binary_message)
_to_binary = cast(Callable[[dict[str, Any]], bytes], codec.serialize_binary_message)


def decode_frame(frame: str | bytes, v1: bool) -> KernelMessage:
    """A client's frame as a message; MalformedMessage when it is not one."""
    try:
        if v1:
            channel, parts = _from_v1(frame)
            return KernelMessage.from_parts(channel, parts)
        msg = json.loads(frame) if isinstance(frame, str) else _from_binary(frame)
        return KernelMessage.from_dict(msg.get("channel") or "shell", msg)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise MalformedMessage("Not a Jupyter kernel message.") from exc


def encode_frame(message: KernelMessage, v1: bool) -> str | bytes:
    if v1:
        return _to_v1(message.parts(), message.channel)
    msg: dict[str, Any] = {**message.to_dict(), "channel": message.channel}
    if not message.buffers:
        msg.pop("buffers")
        return json.dumps(msg, default=str)
    return _to_binary(msg)


class KernelChannelHandler(SessionSocketHandler):
    _client: ChannelClient | None = None
    _user: User
    _session_id: str
    _sender: asyncio.Task[None] | None = None

    async def _authorize(self, session_id: str) -> None:
        self._user, session, _ = await self._viewer(session_id)
        self._session_id = session.id

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        return V1_PROTOCOL if V1_PROTOCOL in subprotocols else None

    @property
    def _v1(self) -> bool:
        return self.selected_subprotocol == V1_PROTOCOL

    async def open(self, *args: Any, **kwargs: Any) -> None:
        self._outbox: asyncio.Queue[str | bytes] = asyncio.Queue(SEND_QUEUE)
        self._sender = asyncio.ensure_future(self._send_loop())
        self._client = await self.services.kernel_channels.connect(
            self._user, self._session_id, self._enqueue, self.close
        )
        if self.ws_connection is None:  # closed while connecting: on_close has run
            self.on_close()

    async def on_message(self, message: str | bytes) -> None:
        if self._client is None:
            return
        try:
            decoded = decode_frame(message, self._v1)
        except MalformedMessage as exc:
            self.close(CLOSE_INVALID if self._v1 else CLOSE_UNSUPPORTED, exc.message)
            return
        try:
            await self.services.kernel_channels.receive(self._client, decoded)
        except NotFound:
            self.close(CLOSE_REMOVED, "Your access to this session was removed.")

    def _enqueue(self, message: KernelMessage) -> None:
        try:
            self._outbox.put_nowait(encode_frame(message, self._v1))
        except asyncio.QueueFull:
            self.close(CLOSE_TRY_AGAIN_LATER, "Too slow to keep up; reconnect.")

    async def _send_loop(self) -> None:
        while True:
            frame = await self._outbox.get()
            try:
                await self.write_message(frame, binary=isinstance(frame, bytes))
            except WebSocketClosedError:
                return

    def on_close(self) -> None:
        if self._sender is not None:
            self._sender.cancel()
        if self._client is not None:
            client, self._client = self._client, None
            task = asyncio.ensure_future(self.services.kernel_channels.disconnect(client))
            self.services.keep(task)


handlers = [
    (rf"/sessions/{SESSION_ID}/kernel/channels", KernelChannelHandler),
    # The same socket where JupyterLab's KernelConnection looks for it when its server
    # settings' wsUrl is .../sessions/<id>/kernel/: <wsUrl>api/kernels/<kernel id>/channels.
    # The kernel id is the client's own name for it; the session decides the kernel.
    (
        rf"/sessions/{SESSION_ID}/kernel/api/kernels/(?P<kernel_id>[A-Za-z0-9_.-]{{1,64}})/channels",
        KernelChannelHandler,
    ),
]
