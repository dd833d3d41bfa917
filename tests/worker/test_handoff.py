"""In process, queuing a cell returns once the worker began it: the embedded server answers
the request after the run is on its way to the kernel, and never waits on a run ahead."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_codecrafter.execution.queue import memory
from jupyter_codecrafter.store.records import JobKind, JobStatus

from .test_worker_loop import Rig, rig  # noqa: F401 (the fixture, shared)


@pytest.fixture(autouse=True)
def patient_handoff(monkeypatch: pytest.MonkeyPatch) -> None:
    # Long enough that a hand-off nobody ends hangs the test instead of passing.
    monkeypatch.setattr(memory, "HANDOFF_S", 60.0)


async def test_a_queued_cell_is_running_when_enqueue_returns(rig: Rig) -> None:  # noqa: F811
    """A cell queued for an idle worker with a warm kernel is running once queued."""
    await rig.worker("w1").start()
    warm = await rig.submit(JobKind.CELL, "x = 1", session_id="s1")  # now it waits for jobs
    await rig.finished(warm.id)
    async with asyncio.timeout(5):
        job = await rig.submit(JobKind.CELL, "import time; time.sleep(1)", session_id="s1")
    stored = await rig.store.jobs.get(job.id)
    assert stored is not None and stored.status is JobStatus.RUNNING


async def test_a_cell_behind_another_does_not_hold_up_enqueue(rig: Rig) -> None:  # noqa: F811
    """A cell waiting for its session's previous run is queued without waiting for it."""
    await rig.worker("w1", concurrency=2).start()
    warm = await rig.submit(JobKind.CELL, "x = 1", session_id="s1")  # now it waits for jobs
    await rig.finished(warm.id)
    first = await rig.submit(JobKind.CELL, "import time; time.sleep(2)", session_id="s1")
    async with asyncio.timeout(1):
        second = await rig.submit(JobKind.CELL, "print(2)", session_id="s1")
    stored = await rig.store.jobs.get(second.id)
    assert stored is not None and stored.status is JobStatus.QUEUED
    assert (await rig.finished(first.id)).status is JobStatus.SUCCEEDED
    assert (await rig.finished(second.id)).status is JobStatus.SUCCEEDED
