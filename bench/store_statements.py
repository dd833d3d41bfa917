"""A SQLite store statement on the event loop, against the same one on the store's thread.

Every statement went through a thread before (aiosqlite); now only one that must wait for
another process's lock does, and transactions. Both are timed on an idle and on a busy
event loop. Last, a room's compaction (a transaction, on the thread) with the longest time
the loop waited meanwhile.

The statement is the one a job's start makes (an ``UPDATE ... RETURNING`` on a WAL file).
"Busy" is three loop tasks that each burn about 1 ms of CPU per turn and never let the loop
sleep, as a server's loop is through a classroom's burst: a thread then waits for the GIL,
which the loop gives up only every switch interval, and some waits last far longer.

Run with ``.venv/bin/python bench/store_statements.py [--statements 100]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jupyter_codecrafter.store.sqlite import SQLiteStore
from jupyter_codecrafter.store.sqlite.database import Database

UPDATE = "UPDATE counters SET n = n + 1 WHERE id = ? RETURNING n"


@contextlib.asynccontextmanager
async def busy_loop(busy: bool) -> AsyncIterator[None]:
    stop = asyncio.Event()

    async def burn() -> None:
        while not stop.is_set():
            sum(range(20_000))
            await asyncio.sleep(0)

    tasks = [asyncio.create_task(burn()) for _ in range(3 if busy else 0)]
    try:
        yield
    finally:
        stop.set()
        await asyncio.gather(*tasks)


async def timed_ms(statement: Callable[[int], Awaitable[object]], count: int) -> list[float]:
    samples = []
    for n in range(count):
        started = time.perf_counter()
        await statement(n % 100)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def figures(samples: list[float]) -> str:
    return f"p50 {statistics.median(samples):7.3f} ms, mean {statistics.mean(samples):8.3f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--statements", type=int, default=100)
    args = parser.parse_args()
    db = Database(str(Path(tempfile.mkdtemp(prefix="ccbench-store")) / "bench.db"))
    await db.open()
    try:
        await db.execute("CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER)")
        for n in range(100):
            await db.execute("INSERT INTO counters VALUES (?, 0)", (n,))
        await compare(db, args.statements)
    finally:
        await db.close()
    await compaction()


async def compare(db: Database, count: int) -> None:
    async def on_loop(key: int) -> object:
        return await db.fetch_all(UPDATE, (key,))

    async def on_thread(key: int) -> object:  # what aiosqlite did with every statement
        return await db._in_thread(db.conn, lambda c: c.execute(UPDATE, (key,)).fetchall())

    for busy in (False, True):
        async with busy_loop(busy):
            thread, loop = await timed_ms(on_thread, count), await timed_ms(on_loop, count)
        ratio = statistics.median(thread) / statistics.median(loop)
        print(f"{'busy' if busy else 'idle'} loop, {count} statements each:")
        print(f"  on the store's thread  {figures(thread)}")
        print(f"  on the loop            {figures(loop)}  (p50 x{ratio:.0f} faster)")


async def compaction(updates: int = 2000) -> None:
    store = SQLiteStore(f"sqlite:///{tempfile.mkdtemp(prefix='ccbench-store')}/bench.db")
    await store.open()
    try:
        for _ in range(updates):
            await store.documents.append("s1", b"x" * 2000)
        state = await store.documents.load("s1")
        ticks: list[float] = []
        ticking = asyncio.create_task(tick(ticks))
        await asyncio.sleep(0.05)
        started = time.perf_counter()
        await store.documents.compact("s1", b"y" * 100_000, state.last_seq)
        took = (time.perf_counter() - started) * 1000
        await asyncio.sleep(0.05)
        ticking.cancel()
    finally:
        await store.close()
    longest = max(b - a for a, b in itertools.pairwise(ticks)) * 1000
    print(f"compaction of {updates} updates of 2 KB: {took:.1f} ms; the loop waited at most")
    print(f"  {longest:.1f} ms meanwhile (a 1 ms ticker)")


async def tick(ticks: list[float]) -> None:
    while True:
        ticks.append(time.perf_counter())
        await asyncio.sleep(0.001)


if __name__ == "__main__":
    asyncio.run(main())
