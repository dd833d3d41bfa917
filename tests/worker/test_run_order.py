"""Cell runs of a session run in the order they were queued, even when the worker handles
several at once and the store answers them out of order."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.execution.queue.memory import MemoryQueue
from jupyter_codecrafter.store.base import create_store
from jupyter_codecrafter.store.records import Job, JobKind
from jupyter_codecrafter.utils import new_id

from .test_worker_loop import Rig


class UnevenJobs:
    """The store's jobs, answering ``start`` after a random delay (a busy database)."""

    def __init__(self, jobs: Any) -> None:
        self._jobs = jobs

    def __getattr__(self, name: str) -> Any:
        return getattr(self._jobs, name)

    async def start(self, job_id: str, worker: str, started_at: datetime) -> Job | None:
        await asyncio.sleep(random.uniform(0, 0.05))
        return await self._jobs.start(job_id, worker, started_at)  # type: ignore[no-any-return]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = create_store(f"sqlite:///{tmp_path}/store.db")
    await store.open()
    queue, bus = MemoryQueue(), MemoryBus()
    real_jobs = store.jobs
    store.jobs = UnevenJobs(real_jobs)  # type: ignore[misc]
    rig = Rig(store, queue, bus, Path("/tmp") / f"cco{new_id()[:6]}")
    yield rig
    for worker in rig.workers:
        await worker.stop()
    store.jobs = real_jobs  # type: ignore[misc]
    await queue.close()
    await store.close()


async def test_ten_cells_run_in_the_order_they_were_queued(rig: Rig) -> None:
    """Ten cells queued at once for a worker handling four jobs at a time run one after the
    other in queue order: execution counts 1 to 10."""
    jobs = [await rig.submit(JobKind.CELL, f"print({n})", session_id="s1") for n in range(10)]
    await rig.worker("w1", concurrency=4).start()

    done = [await rig.finished(job.id) for job in jobs]
    assert [job.execution_count for job in done] == list(range(1, 11))
    assert [job.outputs[0]["text"] for job in done] == [f"{n}\n" for n in range(10)]
