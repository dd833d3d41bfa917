"""A person editing a shared notebook on a flaky network, for the convergence test.

:class:`ChaosEditor` keeps its document across connections, as y-websocket does: it types
while connected and while offline, drops its socket now and then (cleanly, or by aborting
the TCP connection), and reconnects to any instance, where the sync handshake sends what
it typed meanwhile. Every edit leaves unique marker strings untouched: text is typed only
outside markers and only filler characters are deleted, so each marker it typed must end
up in the document exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import time
from typing import Any

from websockets.asyncio.client import connect

from jupyter_codecrafter.store.records import SessionKind
from tests.yclient import YClient

MARKER = re.compile(r"<<[^>]*>>")
FILLER = "abcdefgh ="


class Socket(YClient):
    """A YClient opened and closed by hand, starting from a document it already has."""

    reader: asyncio.Task[None]

    @classmethod
    async def open(cls, url: str, state: bytes | None) -> Socket:
        ws = await connect(url, max_size=None, open_timeout=20)
        client = cls(SessionKind.NOTEBOOK, ws)
        if state is not None:
            client.restore(state)
        client.reader = asyncio.create_task(client._read())
        client.start()
        await client.wait_for(lambda: client.is_synced or client.is_closed, 20)
        return client

    async def drop(self, *, clean: bool) -> None:
        """Leave as y-websocket does, or cut the TCP connection without a close frame."""
        if clean and not self.is_closed:
            self.send_raw(self.leave_message())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(5):
                    await self.flush()
            await self.ws.close()
        else:
            self.ws.transport.abort()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader


class ChaosEditor:
    def __init__(self, name: str, urls: list[str], rng: random.Random) -> None:
        self.name, self.urls, self.rng = name, urls, rng
        self.socket: Socket | None = None
        self.markers: list[str] = []
        self.disconnects = 0

    @property
    def notebook(self) -> Any:
        assert self.socket is not None
        return self.socket.notebook

    async def connect(self) -> None:
        state = None if self.socket is None else self.socket.doc.get_update()
        self.socket = await Socket.open(self.rng.choice(self.urls), state)

    async def run(self, seconds: float) -> None:
        """Edit for ``seconds``, dropping the connection about every two seconds."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await asyncio.sleep(self.rng.uniform(0.02, 0.1))
            self.edit()
            if self.rng.random() < 0.03:
                await self.outage()
        if self.socket is None or self.socket.is_closed:
            await self.connect()

    async def outage(self) -> None:
        """Drop the socket, keep typing offline for a moment, reconnect anywhere."""
        assert self.socket is not None
        self.disconnects += 1
        await self.socket.drop(clean=self.rng.random() < 0.5)
        for _ in range(self.rng.randrange(5)):
            await asyncio.sleep(0.05)
            self.edit()
        await self.connect()

    def edit(self) -> None:
        roll = self.rng.random()
        if roll < 0.05:
            self.add_cell()
        elif roll < 0.35:
            self.delete_filler()
        elif roll < 0.55:
            self.type(self.new_marker())
        else:
            self.type("".join(self.rng.choices(FILLER, k=self.rng.randint(1, 4))))

    def new_marker(self) -> str:
        marker = f"<<{self.name}-{len(self.markers)}>>"
        self.markers.append(marker)
        return marker

    def add_cell(self) -> None:
        cells = self.notebook.ycells
        cell = {"cell_type": "code", "source": self.new_marker(), "metadata": {}}
        cells.insert(self.rng.randint(0, len(cells)), self.notebook.create_ycell(cell))

    def type(self, text: str) -> None:
        source = self._random_source()
        source.insert(self.rng.choice(_gaps(str(source))), text)

    def delete_filler(self) -> None:
        source = self._random_source()
        spans = _filler_spans(str(source))
        if spans:
            start, end = self.rng.choice(spans)
            begin = self.rng.randrange(start, end)
            del source[begin : min(end, begin + self.rng.randint(1, 3))]

    def _random_source(self) -> Any:
        cells = self.notebook.ycells
        return cells[self.rng.randrange(len(cells))]["source"]


def _gaps(text: str) -> list[int]:
    """Positions not inside a marker."""
    inside = {i for m in MARKER.finditer(text) for i in range(m.start() + 1, m.end())}
    return [i for i in range(len(text) + 1) if i not in inside]


def _filler_spans(text: str) -> list[tuple[int, int]]:
    """[start, end) runs of text between markers."""
    bounds = [0, *(i for m in MARKER.finditer(text) for i in m.span()), len(text)]
    pairs = zip(bounds[::2], bounds[1::2], strict=True)
    return [(start, end) for start, end in pairs if end > start]


def marker_counts(notebook: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for cell in notebook["cells"]:
        for marker in MARKER.findall(cell["source"]):
            counts[marker] = counts.get(marker, 0) + 1
    return counts
