"""ExecutionService when things go wrong or race: a refused run is never left queued, and
the first runs of a new session all wait for one worker, in the order they came."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.constants import WORKER_ALIVE_KEY_PREFIX
from jupyter_codecrafter.errors import QueueError
from jupyter_codecrafter.execution.queue._options import QueueOptions
from jupyter_codecrafter.execution.queue.base import JobMessage
from jupyter_codecrafter.execution.queue.memory import MemoryQueue
from jupyter_codecrafter.health import WORKERS_KEY
from jupyter_codecrafter.rooms.manager import RoomManager
from jupyter_codecrafter.sessions.service import SessionService
from jupyter_codecrafter.store.base import create_store
from jupyter_codecrafter.store.records import JobStatus, SessionKind

from .test_service import Rig


class BrokerDown(MemoryQueue):
    """A queue whose broker does not answer."""

    async def enqueue(self, message: JobMessage, *, worker_id: str | None = None) -> None:
        raise QueueError("RabbitMQ did not answer in time (enqueue a job).")


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = create_store(f"sqlite:///{tmp_path / 'store.db'}")
    await store.open()
    bus, queue = MemoryBus(), MemoryQueue(QueueOptions())
    rooms = RoomManager(store, bus, instance_id="server-1")
    await rooms.start()
    yield Rig(store, bus, queue, SessionService(store, rooms, bus), rooms)
    await rooms.stop()
    await queue.close()
    await store.close()


async def test_a_run_refused_while_the_broker_is_down_is_not_left_queued(rig: Rig) -> None:
    """The broker not answering refuses the run (503), and its record says cancelled with
    the reason: no job stays queued that no worker will ever see."""
    user = await rig.user()
    with pytest.raises(QueueError):
        await (
            replace(rig, queue=BrokerDown())
            .service()
            .run_snippet(user, "python", "1", host_access=True)
        )
    [job] = await rig.store.jobs.list(user_id=user.id)
    assert (job.status, job.error) == (JobStatus.CANCELLED, "queue unavailable")


async def test_a_new_sessions_runs_wait_for_one_worker_in_order(rig: Rig) -> None:
    """Ten runs of a session nobody runs yet, with two live workers: all ten are queued for
    the same worker, in the order they were submitted."""
    for worker in ("w1", "w2"):
        await rig.bus.hash_set(WORKERS_KEY, worker, str(time.time()).encode(), ttl_s=60)
        await rig.bus.set(WORKER_ALIVE_KEY_PREFIX + worker, b"1", ttl_s=60)
        rig.queue._broker.declare_worker(worker)  # as a consuming worker would
    owner = await rig.user()
    session = await rig.sessions.create(
        owner, title="T", kind=SessionKind.NOTEBOOK, language="python"
    )
    service = rig.service()
    jobs = [await service.run_cell(owner, session.id, f"c{i}", "1") for i in range(10)]

    queued = {w: [e.message for e in q] for w, q in rig.queue._broker.workers.items()}
    [(worker, messages)] = [(w, m) for w, m in queued.items() if m]
    assert [m.job_id for m in messages] == [job.id for job in jobs]
    assert {m.routed_to for m in messages} == {worker}
