"""A client of a session's kernel channel for tests, speaking Jupyter's kernel WebSocket
protocols as JupyterLab does (``v1.kernel.websocket.jupyter.org``, or the legacy JSON one),
written from jupyter_client's Session and Jupyter Server's frame codecs, not the server's.

:class:`KernelWs` is the raw client: send requests, wait for messages per channel.
:class:`WsKernelManager` / :class:`WsKernelClient` are what nbclient needs of a kernel
manager and client, over that socket, so nbclient executes a notebook through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from queue import Empty
from typing import Any

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from jupyter_server.services.kernels.connection.base import (
    deserialize_msg_from_ws_v1,
    serialize_msg_to_ws_v1,
)
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

V1 = "v1.kernel.websocket.jupyter.org"
WAIT_S = 60.0  # a bound so a broken server fails the test instead of hanging it

Message = dict[str, Any]


def kernel_channel_url(server_url: str, session_id: str, token: str) -> str:
    base = server_url.replace("http://", "ws://")
    return f"{base}/api/codecrafter/sessions/{session_id}/kernel/channels?token={token}"


class KernelWs:
    def __init__(self, ws: ClientConnection, v1: bool) -> None:
        self.ws = ws
        self.v1 = v1
        self.session = Session(key=b"", username="test")
        self.received: dict[str, list[Message]] = {
            c: [] for c in ("shell", "iopub", "stdin", "control")
        }
        self._arrived = asyncio.Condition()
        self.close_code: int | None = None
        self.listener: Callable[[str, Message], None] | None = None
        self._reader = asyncio.create_task(self._read())

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(cls, url: str, *, v1: bool = True) -> AsyncIterator[KernelWs]:
        protocols = [V1] if v1 else None
        async with ws_connect(url, subprotocols=protocols, max_size=None) as ws:  # type: ignore[arg-type]
            client = cls(ws, v1 and ws.subprotocol == V1)
            try:
                yield client
            finally:
                client._reader.cancel()

    def message(self, msg_type: str, content: dict[str, Any], **metadata: Any) -> Message:
        msg: Message = self.session.msg(msg_type, content, metadata=metadata)
        return msg

    async def send(self, channel: str, msg: Message) -> str:
        parts = [msg["header"], msg["parent_header"], msg["metadata"], msg["content"]]
        if self.v1:
            encoded = [json.dumps(p, default=json_default).encode() for p in parts]
            await self.ws.send(serialize_msg_to_ws_v1(encoded, channel))
        else:
            await self.ws.send(json.dumps({**msg, "channel": channel}, default=json_default))
        return str(msg["header"]["msg_id"])

    async def request(
        self, msg_type: str, content: dict[str, Any], channel: str = "shell"
    ) -> Message:
        """Send a request and wait for its reply."""
        msg_id = await self.send(channel, self.message(msg_type, content))
        return await self.reply_to(msg_id, channel)

    async def reply_to(self, msg_id: str, channel: str = "shell") -> Message:
        return await self.wait_for(channel, lambda m: m["parent_header"].get("msg_id") == msg_id)

    async def wait_for(self, channel: str, match: Callable[[Message], bool]) -> Message:
        """The first message on ``channel`` that ``match`` accepts (received before too)."""
        try:
            async with asyncio.timeout(WAIT_S), self._arrived:
                await self._arrived.wait_for(
                    lambda: self._first(channel, match) is not None or self.close_code is not None
                )
        except TimeoutError:
            raise AssertionError(f"no such message on {channel}") from None
        found = self._first(channel, match)
        assert found is not None, f"closed ({self.close_code})"
        return found

    def _first(self, channel: str, match: Callable[[Message], bool]) -> Message | None:
        return next((msg for msg in self.received[channel] if match(msg)), None)

    async def closed(self) -> int | None:
        await asyncio.wait([self._reader], timeout=WAIT_S)  # not cancelled when it times out
        return self.close_code

    async def _read(self) -> None:
        try:
            async for frame in self.ws:
                channel, msg = self._decode(frame)
                if self.listener is not None:
                    self.listener(channel, msg)
                async with self._arrived:
                    self.received[channel].append(msg)
                    self._arrived.notify_all()
        except ConnectionClosed:
            pass
        self.close_code = self.ws.close_code
        async with self._arrived:
            self._arrived.notify_all()

    def _decode(self, frame: str | bytes) -> tuple[str, Message]:
        if self.v1:
            channel, parts = deserialize_msg_from_ws_v1(frame)
            header, parent, metadata, content = (json.loads(p) for p in parts[:4])
            msg = {"header": header, "parent_header": parent, "metadata": metadata}
            msg.update(content=content, buffers=parts[4:])
        else:
            msg = json.loads(frame)
            channel = msg.pop("channel")
        msg["msg_id"] = msg["header"]["msg_id"]
        msg["msg_type"] = msg["header"]["msg_type"]
        return channel, msg


class _Channel:
    """The part of a jupyter_client channel nbclient uses: get_msg with a timeout."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Message] = asyncio.Queue()

    async def get_msg(self, timeout: float | None = None) -> Message:  # noqa: ASYNC109 - as jupyter_client's
        try:
            async with asyncio.timeout(timeout):
                return await self.queue.get()
        except TimeoutError:
            raise Empty from None


class WsKernelClient:
    """What nbclient calls on a kernel client, over a session's kernel channel."""

    allow_stdin = False

    def __init__(self, url: str) -> None:
        self._url = url
        self.shell_channel = _Channel()
        self.iopub_channel = _Channel()
        self._stack = contextlib.AsyncExitStack()
        self._ws: KernelWs | None = None

    async def start_channels(self) -> None:
        self._ws = await self._stack.enter_async_context(KernelWs.connect(self._url))
        self._ws.listener = self._forward

    def _forward(self, channel: str, msg: Message) -> None:
        if channel == "shell":
            self.shell_channel.queue.put_nowait(msg)
        elif channel == "iopub":
            self.iopub_channel.queue.put_nowait(msg)

    async def wait_for_ready(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        msg_id = await self.kernel_info()
        assert self._ws is not None
        await self._ws.reply_to(msg_id)

    async def kernel_info(self) -> str:
        return await self._send("kernel_info_request", {})

    async def execute(self, code: str, **options: Any) -> str:
        content = {"code": code, "silent": False, "allow_stdin": False, **options}
        content.setdefault("store_history", True)
        return await self._send("execute_request", {**content, "user_expressions": {}})

    async def _send(self, msg_type: str, content: dict[str, Any]) -> str:
        assert self._ws is not None
        return await self._ws.send("shell", self._ws.message(msg_type, content))

    async def is_alive(self) -> bool:
        return self._ws is not None and self._ws.close_code is None

    async def stop_channels(self) -> None:
        await self._stack.aclose()


class WsKernelManager:
    """A kernel manager for nbclient whose kernel is a session's (already there, shared:
    nbclient neither starts nor stops it)."""

    has_kernel = True
    kernel_name = "python3"

    def __init__(self, url: str) -> None:
        self._url = url

    def client(self) -> WsKernelClient:
        return WsKernelClient(self._url)

    async def is_alive(self) -> bool:
        return True

    async def shutdown_kernel(self, now: bool = False) -> None:
        """The session's kernel outlives this notebook run."""

    async def cleanup_resources(self) -> None:
        """Nothing of ours to clean."""

    async def interrupt_kernel(self) -> None:
        raise NotImplementedError("tests interrupt through the REST API")
