"""Outputs survive the instance writing them: another instance's writer finishes a run's
events from where the first left off, and every output lands once, whatever instant the
first one died at. Two room managers (two instances) share a SQLite store; each has a bus
of its own, so nothing the first wrote reaches the second but through the store (as when
pub/sub drops a message)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import pytest

from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.execution.events import EventType, JobEvent
from jupyter_codecrafter.execution.queue.base import EventDelivery
from jupyter_codecrafter.execution.writer import OutputWriter
from jupyter_codecrafter.rooms.documents import content_of, doc_from_state, wrap
from jupyter_codecrafter.rooms.manager import RoomManager, initial_update
from jupyter_codecrafter.store.base import Store, create_store
from jupyter_codecrafter.store.records import Job, JobKind, JobStatus, SessionKind
from jupyter_codecrafter.utils import utcnow
from tests.notebooks import code_cell

SESSION = "s1"


@dataclass
class Instances:
    store: Store
    first: RoomManager
    second: RoomManager


@pytest.fixture
async def instances(tmp_path: Path) -> AsyncIterator[Instances]:
    store = create_store(f"sqlite:///{tmp_path}/w.db")
    await store.open()
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [code_cell("c1")]}
    await store.documents.append(SESSION, initial_update(SessionKind.NOTEBOOK, notebook))
    buses = [MemoryBus(), MemoryBus()]
    rooms = [RoomManager(store, bus, instance_id=f"i{n}") for n, bus in enumerate(buses)]
    for bus, manager in zip(buses, rooms, strict=True):
        await bus.start()
        await manager.start()
        async with manager.edit(SESSION, SessionKind.NOTEBOOK):
            pass  # the room is open on both instances from the start
    yield Instances(store, *rooms)
    for bus, manager in zip(buses, rooms, strict=True):
        await manager.stop()
        await bus.close()
    await store.close()


def run_events(lines: int) -> list[JobEvent]:
    """A run printing ``lines`` lines, as its worker numbers its events."""
    events = [JobEvent(EventType.STARTED, "job1")]
    for index in range(lines):
        output = {"output_type": "stream", "name": "stdout", "text": f"{index}\n"}
        events.append(JobEvent(EventType.OUTPUT, "job1", output=output))
    events.append(JobEvent(EventType.FINISHED, "job1", status="succeeded", execution_count=1))
    return [
        JobEvent(e.type, e.job_id, SESSION, "c1", e.output, e.status, e.execution_count, 1, seq)
        for seq, e in enumerate(events, start=1)
    ]


def delivered(tenure: str, *, redelivered: bool = False) -> EventDelivery:
    return EventDelivery(b"", tenure=tenure, redelivered=redelivered)


async def stored_cell(store: Store) -> dict[str, Any]:
    """The cell as a client loading the session later would see it."""
    doc = doc_from_state(SESSION, await store.documents.load(SESSION))
    content = content_of(wrap(SessionKind.NOTEBOOK, doc))
    assert isinstance(content, dict)
    return content["cells"][0]  # type: ignore[no-any-return]


async def live_cell(rooms: RoomManager) -> dict[str, Any]:
    content = await rooms.get_content(SESSION, SessionKind.NOTEBOOK)
    assert isinstance(content, dict)
    return content["cells"][0]  # type: ignore[no-any-return]


def printed(lines: int) -> list[dict[str, Any]]:
    text = "".join(f"{index}\n" for index in range(lines))
    return [{"output_type": "stream", "name": "stdout", "text": text}]


async def test_another_instance_finishes_a_run_and_each_line_shows_once(
    instances: Instances,
) -> None:
    """The first instance wrote part of a run and died before acknowledging its last two
    events; the second gets those again, then the rest: each line shows once."""
    events = run_events(4)
    first = OutputWriter(instances.first, instances.store, fence_s=0)
    for event in events[:4]:
        await first.apply(event, delivered("q#1"))
    second = OutputWriter(instances.second, instances.store, fence_s=0)
    for index, event in enumerate(events[2:], start=2):
        await second.apply(event, delivered("q#7", redelivered=index < 4))

    for cell in (await live_cell(instances.second), await stored_cell(instances.store)):
        assert cell["outputs"] == printed(4)
        assert cell["execution_count"] == 1


class Killed(BaseException):
    """The process died (SIGKILL): nothing after this point ran."""


class Dying:
    """The store as an instance sees it that is killed during its next append: before the
    append lands (``stored=False``) or just after."""

    def __init__(self, store: Store, *, stored: bool) -> None:
        self.jobs = store.jobs
        self.documents = self
        self._inner = store.documents
        self._stored = stored

    async def append(self, session_id: str, update: bytes) -> int:
        if self._stored:
            await self._inner.append(session_id, update)
        raise Killed()

    async def load(self, session_id: str) -> Any:
        return await self._inner.load(session_id)


@pytest.mark.parametrize("stored", [False, True], ids=["before-storing", "after-storing"])
async def test_an_instance_killed_while_writing_a_line_leaves_it_shown_once(
    instances: Instances, stored: bool
) -> None:
    """Killed while storing a line's change: nobody saw the change before the store had
    it, and the instance that takes over shows the line once, stored or not."""
    events = run_events(3)
    healthy = OutputWriter(instances.first, instances.store, fence_s=0)
    for event in events[:2]:
        await healthy.apply(event, delivered("q#1"))
    dying = OutputWriter(instances.first, cast(Store, Dying(instances.store, stored=stored)))
    with pytest.raises(Killed):
        await dying.apply(events[2], delivered("q#1"))
    assert (await live_cell(instances.first))["outputs"] == printed(1)
    second = OutputWriter(instances.second, instances.store, fence_s=0)
    for event in events[2:]:
        await second.apply(event, delivered("q#2", redelivered=event is events[2]))

    for cell in (await live_cell(instances.second), await stored_cell(instances.store)):
        assert cell["outputs"] == printed(3)


async def test_a_run_whose_events_were_lost_ends_with_all_its_outputs(
    instances: Instances,
) -> None:
    """Events lost on the way (a broker restart) leave a gap the run's end fills from the
    job's saved outputs: the cell ends showing what the run printed."""
    events = run_events(3)
    job = Job("job1", JobKind.CELL, "u1", "python", "", utcnow(), session_id=SESSION, cell_id="c1")
    await instances.store.jobs.create(job)
    await instances.store.jobs.finish("job1", JobStatus.SUCCEEDED, {"outputs": printed(3)})
    writer = OutputWriter(instances.first, instances.store, fence_s=0)
    for event in (events[0], events[1], events[4]):  # two lines never came
        await writer.apply(event, delivered("q#1"))

    cell = await live_cell(instances.first)
    assert cell["outputs"] == printed(3)
    assert cell["execution_count"] == 1


async def test_an_older_run_never_overwrites_a_newer_one(instances: Instances) -> None:
    """A late event of a run queued earlier does not touch a cell a later run took over."""
    writer = OutputWriter(instances.first, instances.store, fence_s=0)
    for event in run_events(1):
        await writer.apply(replace(event, job_id="job2", queued_at=2.0), delivered("q#1"))
    late = replace(run_events(1)[1], queued_at=1.0)

    await writer.apply(replace(late, output={**(late.output or {}), "text": "late\n"}))

    assert (await live_cell(instances.first))["outputs"] == printed(1)


async def test_a_batch_of_events_is_stored_as_one_change(instances: Instances) -> None:
    """A run's waiting events are written as one change to the store, showing each line once."""
    before = len((await instances.store.documents.load(SESSION)).updates)
    writer = OutputWriter(instances.first, instances.store, fence_s=0)

    await writer.apply_all(SESSION, [(event, delivered("q#1")) for event in run_events(3)])

    assert len((await instances.store.documents.load(SESSION)).updates) == before + 1
    for cell in (await live_cell(instances.first), await stored_cell(instances.store)):
        assert cell["outputs"] == printed(3)
        assert cell["execution_count"] == 1


@pytest.mark.parametrize("stored", [False, True], ids=["before-storing", "after-storing"])
async def test_an_instance_killed_while_writing_a_batch_leaves_each_line_once(
    instances: Instances, stored: bool
) -> None:
    """Killed while storing a batch's change: nobody saw any of it, and the instance that
    gets the batch again (with the events after it) shows each line once."""
    events = run_events(4)
    healthy = OutputWriter(instances.first, instances.store, fence_s=0)
    await healthy.apply_all(SESSION, [(event, delivered("q#1")) for event in events[:2]])
    dying = OutputWriter(instances.first, cast(Store, Dying(instances.store, stored=stored)))
    with pytest.raises(Killed):
        await dying.apply_all(SESSION, [(event, delivered("q#1")) for event in events[2:4]])
    assert (await live_cell(instances.first))["outputs"] == printed(1)
    second = OutputWriter(instances.second, instances.store, fence_s=0)
    again = [(event, delivered("q#2", redelivered=event in events[2:4])) for event in events[2:]]
    await second.apply_all(SESSION, again)

    for cell in (await live_cell(instances.second), await stored_cell(instances.store)):
        assert cell["outputs"] == printed(4)
        assert cell["execution_count"] == 1


async def test_a_batch_handled_again_after_a_failure_adds_nothing_twice(
    instances: Instances,
) -> None:
    """A batch given again to the same consumer (its handler raised after part of it was
    written) skips what was written and writes the rest."""
    events = run_events(3)
    writer = OutputWriter(instances.first, instances.store, fence_s=0)
    await writer.apply_all(SESSION, [(event, delivered("q#1")) for event in events[:3]])

    await writer.apply_all(SESSION, [(event, delivered("q#1")) for event in events])

    for cell in (await live_cell(instances.first), await stored_cell(instances.store)):
        assert cell["outputs"] == printed(3)
        assert cell["execution_count"] == 1
