"""A lean WebSocket reader for the room benchmarks: the handshake, then frames as they come.

The benchmark process hosts every reader of every room, and with the ``websockets`` library
each delivered message cost it more than it costs a server to send it (frame parser,
message assembler, queue, an async iterator step): with 200 readers, or 30 rooms of 10,
the benchmark process itself ran out of CPU and the figures timed its own backlog, for
both servers alike. This reader is an ``asyncio.Protocol`` that parses server frames
(unmasked, never fragmented by either server) in ``data_received`` and hands each binary
payload, with the time its bytes arrived, to a callback; it answers pings, so neither
server drops it.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

OnMessage = Callable[[bytes, float], None]
OPCODE_BINARY, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG = 0x2, 0x8, 0x9, 0xA


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A final, masked frame (RFC 6455 5.2): clients mask what they send."""
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
    elif size <= 0xFFFF:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
    mask = os.urandom(4)
    key = (mask * (size // 4 + 1))[:size]
    masked = (int.from_bytes(payload) ^ int.from_bytes(key)).to_bytes(size)
    return header + mask + masked


def server_frames(buffer: bytearray) -> Iterator[tuple[int, bytes]]:
    """(opcode, payload) of each complete frame at the start of ``buffer``, consumed."""
    while len(buffer) >= 2:
        size, start = buffer[1] & 0x7F, 2
        if size == 126:
            if len(buffer) < 4:
                return
            size, start = struct.unpack_from("!H", buffer, 2)[0], 4
        elif size == 127:
            if len(buffer) < 10:
                return
            size, start = struct.unpack_from("!Q", buffer, 2)[0], 10
        if len(buffer) < start + size:
            return
        opcode, payload = buffer[0] & 0x0F, bytes(buffer[start : start + size])
        del buffer[: start + size]
        yield opcode, payload


class _Reader(asyncio.Protocol):
    def __init__(self, on_message: OnMessage, upgraded: asyncio.Future[None]) -> None:
        self._on_message = on_message
        self._upgraded = upgraded
        self._buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self._buffer += data
        if not self._upgraded.done() and not self._read_upgrade():
            return
        for opcode, payload in server_frames(self._buffer):
            if opcode == OPCODE_BINARY:
                self._on_message(payload, now)
            elif opcode == OPCODE_PING and self.transport is not None:
                self.transport.write(client_frame(OPCODE_PONG, payload))
            elif opcode == OPCODE_CLOSE and self.transport is not None:
                self.transport.close()

    def _read_upgrade(self) -> bool:
        """Consume the HTTP response to the upgrade; whether it is complete."""
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        status = bytes(self._buffer[: self._buffer.find(b"\r\n")])
        del self._buffer[: end + 4]
        if b" 101 " not in status:
            self._upgraded.set_exception(ConnectionError(status.decode(errors="replace")))
            return False
        self._upgraded.set_result(None)
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._upgraded.done():
            self._upgraded.set_exception(exc or ConnectionError("closed before the upgrade"))


async def open_reader(url: str, on_message: OnMessage, timeout_s: float = 60) -> asyncio.Transport:
    """Connect to ``url`` (ws://) and upgrade; ``on_message`` gets every binary message."""
    parts = urlsplit(url)
    assert parts.hostname is not None, url
    assert parts.port is not None, url
    loop = asyncio.get_running_loop()
    upgraded: asyncio.Future[None] = loop.create_future()
    transport, _ = await loop.create_connection(
        lambda: _Reader(on_message, upgraded), parts.hostname, parts.port
    )
    key = base64.b64encode(os.urandom(16)).decode()
    target = f"{parts.path}?{parts.query}" if parts.query else parts.path
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    transport.write(request.encode())
    try:
        await asyncio.wait_for(upgraded, timeout_s)
    except BaseException:
        transport.close()
        raise
    return transport
