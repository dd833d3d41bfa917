"""A run's events leave the worker in the order of their numbers, with the in-process queue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from jupyter_codecrafter.execution.events import EventType, JobEvent
from jupyter_codecrafter.execution.queue.base import EventDelivery, one_by_one
from jupyter_codecrafter.execution.queue.memory import MemoryQueue
from jupyter_codecrafter.store.records import Job, JobKind, Limits
from jupyter_codecrafter.utils import new_id, utcnow
from jupyter_codecrafter.worker import emitter
from jupyter_codecrafter.worker.emitter import Emitter
from tests.waiting import eventually

INSTANCE = "server-1"


@pytest.fixture
async def received() -> AsyncIterator[tuple[MemoryQueue, list[JobEvent]]]:
    queue = MemoryQueue()
    await queue.start()
    events: list[JobEvent] = []

    async def on_event(delivery: EventDelivery) -> None:
        events.append(JobEvent.decode(delivery.body))

    await queue.consume_events(INSTANCE, one_by_one(on_event))
    yield queue, events
    await queue.close()


def cell_job() -> Job:
    return Job(
        id=new_id(),
        kind=JobKind.CELL,
        user_id="u1",
        language="python",
        code="print(1)",
        queued_at=utcnow(),
        limits=Limits(),
        session_id="s1",
        cell_id="c1",
    )


async def test_an_output_as_the_start_is_announced_follows_it(
    received: tuple[MemoryQueue, list[JobEvent]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An output that comes in the loop turn the delayed start fires is sent after it."""
    queue, events = received
    monkeypatch.setattr(emitter, "START_DELAY_S", 0.0)
    job = cell_job()
    emit = Emitter(queue, INSTANCE, job, attempt=1)
    emit.start_soon()
    await asyncio.sleep(0)  # the start's timer fires after this task resumes...
    await asyncio.sleep(0)  # ...so its send is scheduled behind this task's next step
    await emit(JobEvent(EventType.OUTPUT, job.id, output={"output_type": "stream"}))
    await eventually(lambda: len(events) == 2)
    assert [(e.type, e.seq) for e in events] == [(EventType.STARTED, 1), (EventType.OUTPUT, 2)]
