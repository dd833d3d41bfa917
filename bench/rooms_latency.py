"""Delivery latency of a room: one writer typing at a fixed rate, readers timing arrivals.

The writer is a real y-websocket client (pycrdt); each keystroke inserts ``#<n>;`` and the
time it was typed is noted. Readers are bare sockets that behave as a fresh y-websocket
client on connect, then find ``#<n>;`` in each update they receive (Yjs carries inserted
text as UTF-8), so the benchmark process spends little time per delivery and the figure is
the server's: typed on one socket, received on another.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from pycrdt import Text
from rooms_common import percentile
from websockets.asyncio.client import ClientConnection, connect

from jupyter_codecrafter.store.records import SessionKind
from tests.yclient import YClient

MARK = re.compile(rb"#(\d+);")
WARM_UP_KEYSTROKES = 25
# What a new y-websocket client sends: sync step 1 (empty state), step 2 (nothing new).
HELLO = (b"\x00\x00\x01\x00", b"\x00\x01\x02\x00\x00")


@dataclass
class Room:
    """Where the writer types and where the readers listen (URLs)."""

    writer: str
    readers: list[str]


@dataclass
class Typed:
    at: dict[int, float] = field(default_factory=dict)


async def read(url: str, typed: Typed, samples: list[float]) -> None:
    async with connect(url, max_size=None, max_queue=None, open_timeout=60) as ws:
        for hello in HELLO:
            await ws.send(hello)
        await _listen(ws, typed, samples)


async def _listen(ws: ClientConnection, typed: Typed, samples: list[float]) -> None:
    with contextlib.suppress(Exception):  # the run ends by closing the sockets
        async for message in ws:
            now = time.perf_counter()
            if isinstance(message, bytes) and message[:1] == b"\x00":
                for number in MARK.findall(message):
                    sent = typed.at.get(int(number))
                    if sent is not None and int(number) >= WARM_UP_KEYSTROKES:
                        samples.append((now - sent) * 1000)


async def write(client: YClient, typed: Typed, rate: float, seconds: float) -> None:
    """Type ``rate`` keystrokes a second on schedule (a late one does not shift the rest)."""
    text = client.doc.get("source", type=Text)  # the file session's shared text
    start = time.perf_counter()
    for number in range(int(rate * seconds)):
        delay = start + number / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        typed.at[number] = time.perf_counter()
        text.insert(len(text), f"#{number};")


@contextlib.asynccontextmanager
async def readers_of(rooms: list[Room], typed: list[Typed]) -> AsyncIterator[list[float]]:
    """Every room's readers connected (a few at a time), their samples as they come."""
    samples: list[float] = []
    tasks = []
    pairs = [(url, typed[i]) for i, room in enumerate(rooms) for url in room.readers]
    for start in range(0, len(pairs), 25):
        batch = pairs[start : start + 25]
        tasks += [asyncio.create_task(read(url, t, samples)) for url, t in batch]
        await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)  # the last joiners' sync done
    try:
        yield samples
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def measure(rooms: list[Room], *, rate: float, seconds: float) -> list[float]:
    """Milliseconds from keystroke to arrival, for every reader of every room."""
    typed = [Typed() for _ in rooms]
    async with contextlib.AsyncExitStack() as stack:
        writers = [
            await stack.enter_async_context(
                YClient.connect(room.writer, kind=SessionKind.FILE, timeout_s=60)
            )
            for room in rooms
        ]
        samples = await stack.enter_async_context(readers_of(rooms, typed))
        await asyncio.gather(
            *(write(w, t, rate, seconds) for w, t in zip(writers, typed, strict=True))
        )
        await asyncio.sleep(1.0)  # the last deliveries
    return samples


def summary(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    return percentile(samples, 0.50), percentile(samples, 0.99)
