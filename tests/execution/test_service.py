"""ExecutionService on its own (no worker): what it queues, where it routes, what it refuses.

Real parts in one process: a SQLite store, the in-process bus and queue, a room manager.
The queue is read directly, as a worker would, so every assertion is about what was queued.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.errors import AlreadyFinished, QueueFull, SandboxRequired, StoreError
from jupyter_codecrafter.execution.events import EventType, JobEvent
from jupyter_codecrafter.execution.limits import LimitPolicy
from jupyter_codecrafter.execution.ownership import KernelOwnership
from jupyter_codecrafter.execution.queue._options import QueueOptions
from jupyter_codecrafter.execution.queue.base import Delivery, JobMessage
from jupyter_codecrafter.execution.queue.memory import MemoryQueue
from jupyter_codecrafter.execution.service import ExecutionService
from jupyter_codecrafter.execution.writer import OutputWriter
from jupyter_codecrafter.rooms.manager import RoomManager, initial_update
from jupyter_codecrafter.sessions.service import SessionService
from jupyter_codecrafter.store.base import Store, create_store
from jupyter_codecrafter.store.records import (
    DocumentState,
    JobStatus,
    Limits,
    SessionKind,
    User,
    UserRole,
)
from tests.notebooks import code_cell, ipynb
from tests.store import factories
from tests.waiting import eventually


@dataclass
class Rig:
    store: Store
    bus: MemoryBus
    queue: MemoryQueue
    sessions: SessionService
    rooms: RoomManager

    def service(
        self, *, confined: bool | None = None, documents: Store | None = None
    ) -> ExecutionService:
        """``documents``: the store the output writer sees (by default the real one)."""
        return ExecutionService(
            self.store,
            self.queue,
            self.bus,
            self.sessions,
            OutputWriter(self.rooms, documents or self.store),
            instance_id="server-1",
            limits=LimitPolicy(Limits(), {}),
            languages=("python",),
            confined=confined,
        )

    async def user(self, role: UserRole = UserRole.USER) -> User:
        user = factories.user(role=role)
        await self.store.users.create(user)
        return user

    async def delivered(self, worker_id: str) -> JobMessage:
        """The next message a worker named ``worker_id`` is given."""
        got: asyncio.Queue[JobMessage] = asyncio.Queue()

        async def handle(delivery: Delivery) -> None:
            await got.put(delivery.message)

        peer = self.queue.peer()
        await peer.consume(worker_id, handle, prefetch=1)
        try:
            return await asyncio.wait_for(got.get(), 5)
        finally:
            await peer.close()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = create_store(f"sqlite:///{tmp_path / 'store.db'}")
    await store.open()
    bus, queue = MemoryBus(), MemoryQueue(QueueOptions(max_length=2))
    await bus.start()
    await queue.start()
    rooms = RoomManager(store, bus, instance_id="server-1")
    await rooms.start()
    yield Rig(store, bus, queue, SessionService(store, rooms, bus), rooms)
    await rooms.stop()
    await queue.close()
    await bus.close()
    await store.close()


async def test_a_cell_run_goes_to_the_worker_owning_the_kernel(rig: Rig) -> None:
    """Once a worker owns the session's kernel, its cell runs are queued for that worker."""
    owner = await rig.user()
    session = await rig.sessions.create(
        owner, title="T", kind=SessionKind.NOTEBOOK, language="python"
    )
    await KernelOwnership(rig.bus).claim(session.id, "worker-7")
    job = await rig.service().run_cell(owner, session.id, "c1", "1", host_access=True)
    message = await rig.delivered("worker-7")
    assert (message.job_id, message.routed_to, message.kind) == (job.id, "worker-7", "cell")


async def test_a_full_queue_refuses_and_the_job_is_cancelled(rig: Rig) -> None:
    """Beyond the queue's length a run is refused (503) and its record says so."""
    user = await rig.user()
    service = rig.service()
    for _ in range(2):
        await service.run_snippet(user, "python", "1", host_access=True)
    with pytest.raises(QueueFull):
        await service.run_snippet(user, "python", "1", host_access=True)
    jobs = await rig.store.jobs.list(user_id=user.id)
    assert sorted(str(job.status) for job in jobs) == ["cancelled", "queued", "queued"]


async def test_an_unconfined_worker_here_refuses_untrusted_users(rig: Rig) -> None:
    """With this server's own worker unconfined, only trusted users' runs are queued, and
    the queued message says whether the worker may run them unconfined."""
    user, admin = await rig.user(), await rig.user(UserRole.ADMIN)
    service = rig.service(confined=False)
    with pytest.raises(SandboxRequired):
        await service.run_snippet(user, "python", "1")
    await service.run_snippet(admin, "python", "1")
    assert (await rig.delivered("any")).unconfined_ok is True


async def test_cancelling_a_queued_run_finishes_it_and_a_second_cancel_conflicts(
    rig: Rig,
) -> None:
    """A queued run cancelled is final at once; cancelling it again is a conflict."""
    user = await rig.user()
    service = rig.service()
    job = await service.run_snippet(user, "python", "1", host_access=True)
    cancelled = await service.cancel(user, job.id)
    assert cancelled.status is JobStatus.CANCELLED
    with pytest.raises(AlreadyFinished):
        await service.cancel(user, job.id)


class FlakyDocuments:
    """The store's documents, failing the first append for one session (a store outage)."""

    def __init__(self, store: Store, failing: str) -> None:
        self._inner = store.documents
        self.jobs, self.documents = store.jobs, self
        self._failing: str | None = failing
        self.failed = False

    async def append(self, session_id: str, update: bytes) -> int:
        if session_id == self._failing:
            self._failing, self.failed = None, True
            raise StoreError()
        return await self._inner.append(session_id, update)

    async def load(self, session_id: str) -> DocumentState:
        return await self._inner.load(session_id)


async def test_a_burst_of_events_shows_every_line_once_in_each_notebook(rig: Rig) -> None:
    """Events of two notebooks arriving together are written side by side; one notebook's
    store failure brings the batch again, and each notebook still shows each line once."""
    for session in ("s1", "s2"):
        content = ipynb(code_cell("c1"))
        await rig.store.documents.append(session, initial_update(SessionKind.NOTEBOOK, content))
    flaky = FlakyDocuments(rig.store, failing="s2")
    service = rig.service(documents=cast(Store, flaky))
    await service.start()
    for seq in range(1, 4):  # published without a pause: they wait together
        for session in ("s1", "s2"):
            line = {"output_type": "stream", "name": "stdout", "text": f"{seq}\n"}
            event = JobEvent(EventType.OUTPUT, f"job-{session}", session, "c1", line, seq=seq)
            await rig.queue.publish_event("server-1", event.encode())

    async def outputs(session: str) -> list[dict[str, str]]:
        content = await rig.rooms.get_content(session, SessionKind.NOTEBOOK)
        return content["cells"][0]["outputs"]  # type: ignore[index, no-any-return]

    expected = [{"output_type": "stream", "name": "stdout", "text": "1\n2\n3\n"}]

    async def shown_once() -> bool:
        return await outputs("s2") == expected

    await eventually(shown_once)
    assert await outputs("s1") == expected
    assert flaky.failed
