"""The output writer's CPU per cell run after many runs of one notebook, against its first.

A class notebook is run thousands of times in a term. Each run's outputs go through the
output writer (private copy, store append, room update); what the writer keeps from run to
run must not make each later run dearer. This drives the real writer, room manager and
SQLite store in process with the events a worker would send for a cell printing one line
(its output, then its end), on a 30-cell notebook holding 60 KB of outputs, and prints the
CPU time per run (all threads, the store's included) at intervals, against the first
interval measured in the same run. Issue 9 found it growing 9x over 1000 runs.

Run with ``.venv/bin/python bench/notebook_aging.py [--runs 1000] [--every 250]``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.execution.events import EventType, JobEvent
from jupyter_codecrafter.execution.writer import OutputWriter
from jupyter_codecrafter.rooms.manager import RoomManager, initial_update
from jupyter_codecrafter.store.base import create_store
from jupyter_codecrafter.store.records import SessionKind

CELLS = 30
PROBE_RUNS = 20  # timed at each interval, on top of the runs themselves


def notebook() -> dict[str, Any]:
    cells = [
        {
            "cell_type": "code",
            "id": f"c{n}",
            "source": "print('x' * 2000)",
            "metadata": {},
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "x" * 2000}],
            "execution_count": 1,
        }
        for n in range(CELLS)
    ]
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}


class Runs:
    """Cell runs of one session, numbered and queued in order, as a worker reports them."""

    def __init__(self, writer: OutputWriter) -> None:
        self._writer = writer
        self._numbers = itertools.count(1)

    async def one(self) -> None:
        number = next(self._numbers)
        output = {"output_type": "stream", "name": "stdout", "text": f"{number}\n"}
        ended = {"status": "succeeded", "execution_count": number}
        events = [(EventType.OUTPUT, {"output": output}), (EventType.FINISHED, ended)]
        for seq, (kind, fields) in enumerate(events, start=1):
            event = JobEvent(
                kind,
                f"job{number}",
                session_id="s1",
                cell_id=f"c{number % CELLS}",
                seq=seq,
                queued_at=float(number),
                **fields,
            )
            await self._writer.apply(event)

    async def cpu_ms_each(self, count: int) -> float:
        started = time.process_time()
        for _ in range(count):
            await self.one()
        return (time.process_time() - started) * 1000 / count


async def measure(runs: int, every: int) -> list[tuple[int, float]]:
    """(runs so far, CPU ms per run) at each interval."""
    workdir = tempfile.mkdtemp(prefix="ccbench-aging")
    store = create_store(f"sqlite:///{workdir}/aging.db")
    await store.open()
    await store.documents.append("s1", initial_update(SessionKind.NOTEBOOK, notebook()))
    bus = MemoryBus()
    await bus.start()
    rooms = RoomManager(store, bus, instance_id="bench")
    await rooms.start()
    try:
        cell_runs, figures = Runs(OutputWriter(rooms, store)), []
        for done in range(0, runs + 1, every):
            figures.append((done, await cell_runs.cpu_ms_each(PROBE_RUNS)))
            for _ in range(every if done < runs else 0):
                await cell_runs.one()
        return figures
    finally:
        await rooms.stop()
        await bus.close()
        await store.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--every", type=int, default=250)
    args = parser.parse_args()
    figures = await measure(args.runs, args.every)
    first = figures[0][1]
    print(f"writer CPU per cell run, {CELLS}-cell notebook (first interval is the baseline):")
    for done, cpu_ms in figures:
        print(f"  after {done:>5} runs  {cpu_ms:6.2f} ms  x{cpu_ms / first:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
