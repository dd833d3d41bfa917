"""Helpers for room tests against real Jupyter servers: the server's log, raw sockets, and
y-websocket messages built with pycrdt's encoder (not the server's code)."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator

from pycrdt import Encoder
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.server import JupyterServer

# What an unhandled error looks like in the server's log, whoever logged it.
_PROBLEM = re.compile(
    r"Traceback|Exception in callback|Task exception was never retrieved|"
    r"Task was destroyed|Uncaught exception|^\[E ",
    re.MULTILINE,
)

OPEN = "open"  # the outcome of a connection the server kept open


class LogWatch:
    """The part of a server's log written since the watch started."""

    def __init__(self, server: JupyterServer) -> None:
        self._path = server.log_path
        self._start = self._path.stat().st_size

    def text(self) -> str:
        with self._path.open("rb") as log:
            log.seek(self._start)
            return log.read().decode(errors="replace")

    def problems(self) -> list[str]:
        """Lines around each traceback or error-level record."""
        text = self.text()
        return [text[max(0, m.start() - 300) : m.end() + 300] for m in _PROBLEM.finditer(text)]


def varuint(value: int) -> bytes:
    encoder = Encoder()
    encoder.write_var_uint(value)
    return encoder.to_bytes()


def varbytes(data: bytes) -> bytes:
    return varuint(len(data)) + data


def varstring(text: str) -> bytes:
    encoder = Encoder()
    encoder.write_var_string(text)
    return encoder.to_bytes()


def message(kind: int, *parts: bytes, strings: tuple[str, ...] = ()) -> bytes:
    """A varuint message type, then each part as varbytes and each string as varstring."""
    return varuint(kind) + b"".join(map(varbytes, parts)) + b"".join(map(varstring, strings))


def sync_step1(state: bytes = b"\x00") -> bytes:
    return b"\x00\x00" + varbytes(state)


def sync_update(update: bytes) -> bytes:
    return b"\x00\x02" + varbytes(update)


def awareness(entries: list[tuple[int, int, str]], count: int | None = None) -> bytes:
    """An awareness message: (client id, clock, JSON text) entries."""
    body = varuint(len(entries) if count is None else count) + b"".join(
        varuint(client_id) + varuint(clock) + varstring(text) for client_id, clock, text in entries
    )
    return message(1, body)


@contextlib.asynccontextmanager
async def raw_socket(url: str) -> AsyncIterator[ClientConnection]:
    """A WebSocket that reads everything the server sends (so it is never a slow reader)."""
    async with connect(url, max_size=None, max_queue=None, open_timeout=20) as ws:
        yield ws


async def outcome(ws: ClientConnection, timeout_s: float = 20) -> str | int:
    """OPEN when the server still answers a sync step 1, else the close code it sent."""
    with contextlib.suppress(ConnectionClosed):
        await ws.send(sync_step1())
        async with asyncio.timeout(timeout_s):
            async for received in ws:
                if isinstance(received, bytes) and received[:2] == b"\x00\x01":
                    return OPEN
    return ws.close_code if ws.close_code is not None else 1006
