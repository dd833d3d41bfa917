"""Fan-out latency of a room against pycrdt-websocket's server, measured in the same run.

One writer types 50 keystrokes a second; every other client of the room times each
keystroke's arrival. Three shapes: 50 clients in one room, 200 clients in one room, and 30
rooms of 10 clients (a writer in each). Our server is a real ``jupyter server`` in embedded
mode (JWT auth, SQLite, the tornado handler); the baseline is pycrdt-websocket's
``WebsocketServer`` over the ``websockets`` library, in memory. Both are connected at once
and type in turns (``--rounds`` each, one second each by default). Prints p50/p99 in ms, our
figure over the baseline's (issue 11's budget: p99 at most 0.5x with 50 clients), and each
server's CPU time per delivery, which the machine's other load barely moves.

    .venv/bin/pip install pycrdt-websocket   # benchmark only
    .venv/bin/python bench/rooms_fanout.py [--seconds 10] [--rounds 10] [--rate 50]
        [--shape 50|200|30x10]...
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from rooms_common import new_sessions, owner_of, servers
from rooms_latency import Room, Side, measure_sides, summary

from tests.client import Api
from tests.server import JupyterServer
from tests.services import free_port

SHAPES = {
    "50 clients, 1 room": (1, 50),
    "200 clients, 1 room": (1, 200),
    "30 rooms of 10": (30, 10),
}
# --shape picks some of them: 50, 200 or 30x10.
SHAPE_KEYS = dict(zip(("50", "200", "30x10"), SHAPES, strict=True))


@contextmanager
def pycrdt_websocket() -> Iterator[tuple[str, int]]:
    """The baseline server in a process of its own; its base URL and process id."""
    port = free_port()
    script = Path(__file__).with_name("rooms_pycrdt_server.py")
    command = [sys.executable, str(script), str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE)  # noqa: S603 (our own script)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        yield f"ws://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait()


def baseline_rooms(base: str, rooms: int, clients: int) -> list[Room]:
    return [Room(f"{base}/r{i}", [f"{base}/r{i}"] * (clients - 1)) for i in range(rooms)]


async def our_rooms(server: JupyterServer, rooms: int, clients: int) -> list[Room]:
    async with Api(server.api) as api:
        owner = await owner_of(api)
        ids = await new_sessions(api, owner, rooms, kind="file", content="")
    urls = [server.room_url(sid, owner.access_token) for sid in ids]
    return [Room(url, [url] * (clients - 1)) for url in urls]


def report(name: str, ours: Side, theirs: Side) -> None:
    (p50, p99), (b50, b99) = summary(ours.samples), summary(theirs.samples)
    print(
        f"{name:<20} ours p50 {p50:6.2f} ms  p99 {p99:7.2f} ms | pycrdt-websocket "
        f"p50 {b50:6.2f} ms  p99 {b99:7.2f} ms | x{p50 / b50:5.2f} p50  x{p99 / b99:5.2f} p99"
        f"  ({len(ours.samples)} / {len(theirs.samples)} deliveries)"
    )
    mine, base = (1e6 * s.cpu_s / max(1, len(s.samples)) for s in (ours, theirs))
    print(f"{'':<20} server CPU per delivery: ours {mine:5.1f} us, pycrdt-websocket {base:5.1f} us")


def cpu_clock(pid: int) -> Callable[[], float]:
    """The process's CPU seconds so far (user and system): a figure the machine's other
    load barely moves, unlike latency."""
    process = psutil.Process(pid)

    def seconds() -> float:
        times = process.cpu_times()
        return float(times.user + times.system)

    return seconds


async def run(server: JupyterServer, base: tuple[str, int], names: list[str], args: Any) -> None:
    url, pid = base
    clocks = (cpu_clock(server.proc.pid), cpu_clock(pid))
    for name in names:
        rooms, clients = SHAPES[name]
        ours, theirs = await measure_sides(
            [await our_rooms(server, rooms, clients), baseline_rooms(url, rooms, clients)],
            rate=args.rate,
            seconds=args.seconds,
            rounds=args.rounds,
            cpu_clocks=clocks,
        )
        report(name, ours, theirs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=50.0, help="keystrokes a second")
    parser.add_argument("--rounds", type=int, default=10, help="turns each server types")
    parser.add_argument("--shape", action="append", choices=SHAPE_KEYS, help="default: all")
    args = parser.parse_args()
    names = [SHAPE_KEYS[key] for key in args.shape] if args.shape else list(SHAPES)
    with servers(1, redis_url=None) as (server,), pycrdt_websocket() as base:
        asyncio.run(run(server, base, names, args))


if __name__ == "__main__":
    main()
