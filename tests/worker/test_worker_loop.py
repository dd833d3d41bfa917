"""The worker loop: jobs from the queue to the store and back as events, with the real
SQLite store, the in-process queue and bus, and the process sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.constants import KERNEL_OWNER_KEY_PREFIX, WORKER_ALIVE_KEY_PREFIX
from jupyter_codecrafter.execution.events import EventType, JobEvent
from jupyter_codecrafter.execution.queue.base import (
    Delivery,
    EventDelivery,
    JobMessage,
    one_by_one,
)
from jupyter_codecrafter.execution.queue.memory import MemoryQueue
from jupyter_codecrafter.store.base import Store, create_store
from jupyter_codecrafter.store.records import Job, JobKind, JobStatus, Limits
from jupyter_codecrafter.utils import new_id, utcnow
from jupyter_codecrafter.worker import emitter
from jupyter_codecrafter.worker.sandbox.process import ProcessSandbox
from jupyter_codecrafter.worker.worker import Worker
from tests.waiting import eventually

LIMITS = Limits(timeout_s=20, memory_mb=512, output_bytes=100_000)
INSTANCE = "server-1"


@dataclass
class Rig:
    """A store, a queue, a bus and the events one server instance received."""

    store: Store
    queue: MemoryQueue
    bus: MemoryBus
    runtime_dir: Path
    events: list[JobEvent] = field(default_factory=list)
    workers: list[Worker] = field(default_factory=list)

    def worker(self, worker_id: str, **options: Any) -> Worker:
        options.setdefault("concurrency", 2)
        worker = Worker(
            self.store,
            self.queue.peer(),
            self.bus,
            ProcessSandbox(runtime_dir=str(self.runtime_dir)),
            worker_id=worker_id,
            **options,
        )
        self.workers.append(worker)
        return worker

    async def submit(
        self,
        kind: JobKind,
        code: str,
        *,
        session_id: str | None = None,
        routed_to: str | None = None,
        unconfined_ok: bool = True,
        user_id: str = "u1",
    ) -> Job:
        """Queue a job as a server would for a trusted user (the process sandbox here is
        unconfined), unless ``unconfined_ok`` is False."""
        job = Job(
            id=new_id(),
            kind=kind,
            user_id=user_id,
            language="python",
            code=code,
            queued_at=utcnow(),
            limits=LIMITS,
            session_id=session_id,
            cell_id="c1" if kind is JobKind.CELL else None,
        )
        await self.store.jobs.create(job)
        message = JobMessage(
            job.id, str(kind), session_id, INSTANCE, routed_to, unconfined_ok, user_id=user_id
        )
        await self.queue.enqueue(message)
        return job

    async def finished(self, job_id: str, timeout_s: float = 30) -> Job:
        return await self.until(job_id, lambda job: job.status.is_final, timeout_s)

    async def until(
        self, job_id: str, condition: Callable[[Job], bool], timeout_s: float = 30
    ) -> Job:
        """The job once ``condition`` holds for it."""
        async with asyncio.timeout(timeout_s):
            while True:
                job = await self.store.jobs.get(job_id)
                if job is not None and condition(job):
                    return job
                await asyncio.sleep(0.02)


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = create_store(f"sqlite:///{tmp_path}/store.db")
    await store.open()
    queue = MemoryQueue()
    await queue.start()
    bus = MemoryBus()
    await bus.start()
    runtime = Path("/tmp") / f"ccw{new_id()[:6]}"  # unix socket paths must stay short
    rig = Rig(store, queue, bus, runtime)

    async def on_event(delivery: EventDelivery) -> None:
        rig.events.append(JobEvent.decode(delivery.body))

    await queue.consume_events(INSTANCE, one_by_one(on_event))
    yield rig
    for worker in rig.workers:
        await worker.stop()
    await queue.close()
    await bus.close()
    await store.close()


async def test_snippet_result_is_stored_and_streamed(rig: Rig) -> None:
    """A snippet's outputs are saved with the job and streamed as started/output/finished events."""
    await rig.worker("w1").start()
    job = await rig.submit(
        JobKind.SNIPPET, "print('hi'); import sys; print('oops', file=sys.stderr)"
    )
    done = await rig.finished(job.id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.outputs == [
        {"output_type": "stream", "name": "stdout", "text": "hi\n"},
        {"output_type": "stream", "name": "stderr", "text": "oops\n"},
    ]
    assert done.worker == "w1" and done.attempts == 1
    assert done.queued_at <= done.started_at <= done.finished_at  # type: ignore[operator]
    await eventually(lambda: any(e.type is EventType.FINISHED for e in rig.events))
    types = [e.type for e in rig.events if e.job_id == job.id]
    assert types == [EventType.STARTED, EventType.OUTPUT, EventType.OUTPUT, EventType.FINISHED]


async def test_a_quick_cell_begins_with_its_output(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cell that prints at once sends no separate start: its first event is its output."""
    monkeypatch.setattr(emitter, "START_DELAY_S", 5.0)  # "at once", even on a loaded machine
    await rig.worker("w1").start()
    warm = await rig.submit(JobKind.CELL, "x = 1", session_id="s1")  # the kernel's start
    await rig.finished(warm.id)
    job = await rig.submit(JobKind.CELL, "print(x)", session_id="s1")
    await rig.finished(job.id)
    await eventually(
        lambda: any(e.job_id == job.id and e.type is EventType.FINISHED for e in rig.events)
    )
    events = [e for e in rig.events if e.job_id == job.id]
    assert [(e.type, e.seq) for e in events] == [(EventType.OUTPUT, 1), (EventType.FINISHED, 2)]


async def test_a_silent_cell_is_marked_started(rig: Rig, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cell still silent after a moment is announced as started, before its output."""
    monkeypatch.setattr(emitter, "START_DELAY_S", 0.05)
    await rig.worker("w1").start()
    job = await rig.submit(JobKind.CELL, "import time; time.sleep(1); print(1)", session_id="s1")
    await rig.finished(job.id)
    await eventually(
        lambda: any(e.job_id == job.id and e.type is EventType.FINISHED for e in rig.events)
    )
    types = [e.type for e in rig.events if e.job_id == job.id]
    assert types == [EventType.STARTED, EventType.OUTPUT, EventType.FINISHED]


async def test_cells_of_a_session_share_one_kernel(rig: Rig) -> None:
    """Cell runs of one session keep their variables; another session starts clean."""
    await rig.worker("w1").start()
    first = await rig.submit(JobKind.CELL, "x = 41", session_id="s1")
    assert (await rig.finished(first.id)).status is JobStatus.SUCCEEDED
    second = await rig.submit(JobKind.CELL, "print(x + 1)", session_id="s1")
    other = await rig.submit(JobKind.CELL, "print(x)", session_id="s2")
    done = await rig.finished(second.id)
    assert done.outputs == [{"output_type": "stream", "name": "stdout", "text": "42\n"}]
    assert done.execution_count == 2
    failed = await rig.finished(other.id)
    assert failed.status is JobStatus.FAILED
    assert failed.error is not None and "NameError" in failed.error
    assert failed.outputs[0]["output_type"] == "error"


async def test_sessions_stick_to_the_worker_owning_their_kernel(rig: Rig) -> None:
    """With two workers, every run of a session lands on the worker that owns its kernel."""
    for name in ("w1", "w2"):
        await rig.worker(name).start()
    jobs = []
    for step in range(3):
        for session in ("s1", "s2", "s3"):
            code = "n = 0" if step == 0 else "n += 1; print(n)"
            jobs.append((session, await rig.submit(JobKind.CELL, code, session_id=session)))
    done = [(session, await rig.finished(job.id)) for session, job in jobs]
    assert all(job.status is JobStatus.SUCCEEDED for _, job in done), done
    for session in ("s1", "s2", "s3"):
        runs = [job for name, job in done if name == session]
        assert len({job.worker for job in runs}) == 1, f"{session} ran on several workers"
        assert [job.outputs[0]["text"] for job in runs[1:]] == ["1\n", "2\n"]


async def test_a_vanished_owner_is_taken_over(rig: Rig) -> None:
    """A run routed to a worker that never took it runs on the worker that receives it back."""
    await rig.bus.set(KERNEL_OWNER_KEY_PREFIX + "s1", b"ghost", ttl_s=60)
    await rig.worker("w1").start()
    job = await rig.submit(JobKind.CELL, "print('alive')", session_id="s1", routed_to="ghost")
    done = await rig.finished(job.id)
    assert done.status is JobStatus.SUCCEEDED and done.worker == "w1"
    assert await rig.bus.get(KERNEL_OWNER_KEY_PREFIX + "s1") == b"w1"


async def test_final_jobs_are_not_run_again(rig: Rig) -> None:
    """A job already cancelled when its message arrives is acknowledged and never run."""
    job = await rig.submit(JobKind.SNIPPET, "print('never')")
    await rig.store.jobs.finish(job.id, JobStatus.CANCELLED, {"finished_at": utcnow()})
    await rig.worker("w1").run_burst()
    stored = await rig.store.jobs.get(job.id)
    assert stored is not None and stored.status is JobStatus.CANCELLED and stored.outputs == []
    assert await rig.queue.pending() == 0


async def test_burst_mode_runs_what_is_queued_then_returns(rig: Rig) -> None:
    """run_burst returns once every queued job is final."""
    jobs = [await rig.submit(JobKind.SNIPPET, f"print({n})") for n in range(3)]
    await rig.worker("w1").run_burst()
    for n, job in enumerate(jobs):
        stored = await rig.store.jobs.get(job.id)
        assert stored is not None and stored.status is JobStatus.SUCCEEDED
        assert stored.outputs[0]["text"] == f"{n}\n"


async def test_a_worker_heartbeat_lives_while_it_runs(rig: Rig) -> None:
    """A started worker announces itself alive; a stopped one withdraws at once."""
    worker = rig.worker("w1")
    await worker.start()
    assert await rig.bus.get(WORKER_ALIVE_KEY_PREFIX + "w1") is not None
    await worker.stop()
    rig.workers.remove(worker)
    assert await rig.bus.get(WORKER_ALIVE_KEY_PREFIX + "w1") is None


@pytest.mark.parametrize("kind", [JobKind.SNIPPET, JobKind.CELL])
async def test_unconfined_worker_refuses_a_run_not_marked_as_trusted(
    rig: Rig, kind: JobKind, tmp_path: Path
) -> None:
    """An unconfined worker fails a job its submitter may not run unconfined, with the reason
    as an error output, and never runs its code."""
    await rig.worker("w1").start()
    marker = tmp_path / "ran"
    code = f"open({str(marker)!r}, 'w').write('x')"
    job = await rig.submit(kind, code, session_id="s1", unconfined_ok=False)
    done = await rig.finished(job.id)
    assert done.status is JobStatus.FAILED and not marker.exists()
    assert done.outputs[0]["ename"] == "SandboxRequired"
    assert "bubblewrap" in done.outputs[0]["evalue"]
    await eventually(lambda: any(e.type is EventType.FINISHED for e in rig.events))
    assert [e.type for e in rig.events] == [EventType.OUTPUT, EventType.FINISHED]


async def test_a_redelivered_run_is_taken_over_from_its_owner(rig: Rig) -> None:
    """A cell run redelivered because its worker died runs where it lands, even while the
    dead owner's claim and heartbeat have not expired yet."""
    await rig.bus.set(KERNEL_OWNER_KEY_PREFIX + "s1", b"crashed", ttl_s=60)
    await rig.bus.set(WORKER_ALIVE_KEY_PREFIX + "crashed", b"1", ttl_s=60)
    worker = rig.worker("w1")
    job = await rig.submit(JobKind.CELL, "print('again')", session_id="s1")
    message = JobMessage(job.id, "cell", "s1", INSTANCE, unconfined_ok=True)
    await worker._handle(Delivery(message, delivery_count=2))  # as the broker redelivers it
    done = await rig.finished(job.id)
    assert done.status is JobStatus.SUCCEEDED and done.worker == "w1"


async def test_one_user_cannot_starve_another(rig: Rig) -> None:
    """While user A has 20 snippets queued, user B's one snippet starts before most of A's
    (each user may run one at a time here; the worker runs two)."""
    worker = rig.worker("w1", runs_per_user=1)
    sleepy = "import time; time.sleep(0.1)"
    a_jobs = [await rig.submit(JobKind.SNIPPET, sleepy, user_id="a") for _ in range(20)]
    b_job = await rig.submit(JobKind.SNIPPET, "1", user_id="b")
    await worker.start()
    b_done = await rig.finished(b_job.id)
    a_done = [await rig.finished(job.id, timeout_s=60) for job in a_jobs]
    later = [job for job in a_done if job.started_at > b_done.started_at]  # type: ignore[operator]
    assert len(later) >= 15


def hangs_the_first_time(marker: Path) -> str:
    """Code that hangs on its first attempt and prints ``again`` on the next (it leaves a
    marker file: the process sandbox here is unconfined)."""
    return (
        "import os, time\n"
        f"if os.path.exists({str(marker)!r}):\n"
        "    print('again')\n"
        "else:\n"
        f"    open({str(marker)!r}, 'w').close()\n"
        "    time.sleep(600)\n"
    )


async def test_a_run_outlasting_the_stop_grace_is_redone_by_the_next_worker(
    rig: Rig, tmp_path: Path
) -> None:
    """A stopping worker waits for a hanging run only its grace period, then stops it: the
    run is not ended failed or cancelled but goes back, and the next worker runs it again."""
    stopping = rig.worker("w1", stop_grace_s=0.2)
    await stopping.start()
    job = await rig.submit(JobKind.SNIPPET, hangs_the_first_time(tmp_path / "started"))
    await rig.until(job.id, lambda job: job.status is JobStatus.RUNNING)
    await stopping.stop()
    rig.workers.remove(stopping)
    assert (await rig.until(job.id, lambda _: True)).status is JobStatus.RUNNING

    await rig.worker("w2").start()
    done = await rig.finished(job.id)
    assert (done.status, done.worker, done.attempts) == (JobStatus.SUCCEEDED, "w2", 2)
    assert done.outputs == [{"output_type": "stream", "name": "stdout", "text": "again\n"}]
