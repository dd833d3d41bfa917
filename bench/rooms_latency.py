"""Delivery latency of a room: one writer typing at a fixed rate, readers timing arrivals.

The writer is a real y-websocket client (pycrdt); each keystroke inserts ``#<n>;`` and the
time it was typed is noted. Readers are bare sockets (``rooms_reader``) that behave as a
fresh y-websocket client on connect, then find ``#<n>;`` in each update they receive (Yjs
carries inserted text as UTF-8), so the benchmark process spends little time per delivery
and the figure is the server's: typed on one socket, received on another.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

from pycrdt import Text
from rooms_common import percentile
from rooms_reader import OPCODE_BINARY, client_frame, open_reader

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
    """Listen until cancelled (the end of the run)."""

    def on_message(message: bytes, now: float) -> None:
        if message[:1] == b"\x00":
            for number in MARK.findall(message):
                sent = typed.at.get(int(number))
                if sent is not None and int(number) >= WARM_UP_KEYSTROKES:
                    samples.append((now - sent) * 1000)

    transport = await open_reader(url, on_message)
    try:
        for hello in HELLO:
            transport.write(client_frame(OPCODE_BINARY, hello))
        await asyncio.Future()
    finally:
        transport.close()


async def write(client: YClient, typed: Typed, rate: float, numbers: range) -> None:
    """Type keystrokes ``numbers`` at ``rate`` a second on schedule (a late one does not
    shift the rest)."""
    text = client.doc.get("source", type=Text)  # the file session's shared text
    start = time.perf_counter()
    for index, number in enumerate(numbers):
        delay = start + index / rate - time.perf_counter()
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


@dataclass
class Side:
    """One server's rooms in a run: writers, what they typed, what the readers saw, and
    the CPU seconds its server spent during its turns (when given its clock)."""

    writers: list[YClient]
    typed: list[Typed]
    samples: list[float]
    cpu_clock: Callable[[], float] | None = None
    cpu_s: float = 0.0


@contextlib.asynccontextmanager
async def side_of(rooms: list[Room]) -> AsyncIterator[Side]:
    typed = [Typed() for _ in rooms]
    async with contextlib.AsyncExitStack() as stack:
        writers = [
            await stack.enter_async_context(
                YClient.connect(room.writer, kind=SessionKind.FILE, timeout_s=60)
            )
            for room in rooms
        ]
        yield Side(writers, typed, await stack.enter_async_context(readers_of(rooms, typed)))


async def burst(side: Side, rate: float, numbers: range) -> None:
    """Every writer of the side types ``numbers``; then the last deliveries arrive."""
    started = side.cpu_clock() if side.cpu_clock else 0.0
    await asyncio.gather(
        *(write(w, t, rate, numbers) for w, t in zip(side.writers, side.typed, strict=True))
    )
    await asyncio.sleep(1.0)
    if side.cpu_clock:
        side.cpu_s += side.cpu_clock() - started


async def measure(*shapes: list[Room], rate: float, seconds: float) -> list[list[float]]:
    """Milliseconds from keystroke to arrival, for every reader of every room, one list
    per server (see :func:`measure_sides`)."""
    sides = await measure_sides(shapes, rate=rate, seconds=seconds)
    return [side.samples for side in sides]


async def measure_sides(
    shapes: Sequence[list[Room]],
    *,
    rate: float,
    seconds: float,
    rounds: int = 1,
    cpu_clocks: Sequence[Callable[[], float] | None] = (),
) -> list[Side]:
    """Each server's side of a run. With several servers, all are connected at once and
    type in turns (``rounds`` turns each, in alternating order), so a machine that gets
    busier during the run slows each of them alike."""
    per_round = int(rate * seconds / rounds)
    clocks = list(cpu_clocks) or [None] * len(shapes)
    async with contextlib.AsyncExitStack() as stack:
        sides = [await stack.enter_async_context(side_of(rooms)) for rooms in shapes]
        for side, clock in zip(sides, clocks, strict=True):
            side.cpu_clock = clock
        for turn in range(rounds):
            numbers = range(turn * per_round, (turn + 1) * per_round)
            for side in sides if turn % 2 == 0 else reversed(sides):
                await burst(side, rate, numbers)
    return sides


def summary(samples: list[float]) -> tuple[float, float]:
    """(p50, p99) in milliseconds."""
    return percentile(samples, 0.50), percentile(samples, 0.99)
