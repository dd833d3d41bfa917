"""The output writer turns a run's events into the cell's outputs in the shared notebook,
the way JupyterLab would show them, with the real room manager and SQLite store."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.execution.events import EventType, JobEvent
from jupyter_codecrafter.execution.writer import OutputWriter
from jupyter_codecrafter.rooms.documents import content_of, doc_from_state, wrap
from jupyter_codecrafter.rooms.manager import RoomManager, initial_update
from jupyter_codecrafter.rooms.notebook import find_cell
from jupyter_codecrafter.rooms.yupdates import decode_state_vector
from jupyter_codecrafter.store.base import Store, create_store
from jupyter_codecrafter.store.records import SessionKind

NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {},
    "cells": [
        {
            "cell_type": "code",
            "id": "c1",
            "source": "run()",
            "metadata": {},
            "outputs": [{"output_type": "stream", "name": "stdout", "text": "stale\n"}],
            "execution_count": 7,
        }
    ],
}


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = create_store(f"sqlite:///{tmp_path}/w.db")
    await store.open()
    await store.documents.append("s1", initial_update(SessionKind.NOTEBOOK, NOTEBOOK))
    yield store
    await store.close()


@pytest.fixture
async def rooms(store: Store) -> AsyncIterator[RoomManager]:
    bus = MemoryBus()
    await bus.start()
    manager = RoomManager(store, bus, instance_id="i1")
    await manager.start()
    yield manager
    await manager.stop()
    await bus.close()


@pytest.fixture
def writer(rooms: RoomManager, store: Store) -> OutputWriter:
    return OutputWriter(rooms, store)


_seq = itertools.count(1)


@pytest.fixture(autouse=True)
def _number_events_afresh() -> None:
    """Each test's run numbers its events from 1, as a worker does."""
    global _seq
    _seq = itertools.count(1)


def event(kind: EventType, **fields: Any) -> JobEvent:
    """The next event of one run of cell c1, numbered as its worker would."""
    return JobEvent(kind, "job1", session_id="s1", cell_id="c1", seq=next(_seq), **fields)


def stream(text: str, name: str = "stdout") -> JobEvent:
    return event(EventType.OUTPUT, output={"output_type": "stream", "name": name, "text": text})


async def cell(rooms: RoomManager) -> dict[str, Any]:
    content = await rooms.get_content("s1", SessionKind.NOTEBOOK)
    assert isinstance(content, dict)
    nbformat.validate(nbformat.from_dict(content))
    return content["cells"][0]  # type: ignore[no-any-return]


async def execution_state(rooms: RoomManager) -> str:
    """The cell's state in the live document, which JupyterLab shows as [*] when running."""
    async with rooms.edit("s1", SessionKind.NOTEBOOK) as notebook:
        live = find_cell(notebook, "c1")
        assert live is not None
        return str(live["execution_state"])


async def test_the_cell_shows_running_until_its_run_ends(
    rooms: RoomManager, writer: OutputWriter
) -> None:
    """A started run marks the cell running (JupyterLab's [*]); the end marks it idle."""
    await writer.apply(event(EventType.STARTED))
    assert await execution_state(rooms) == "running"
    await writer.apply(event(EventType.FINISHED, status="succeeded", execution_count=1))
    assert await execution_state(rooms) == "idle"


async def test_a_run_replaces_old_outputs_and_merges_stream_chunks(
    rooms: RoomManager, writer: OutputWriter
) -> None:
    """Starting clears the stale outputs; chunks of one stream merge; the count comes last."""
    await writer.apply(event(EventType.STARTED))
    assert (await cell(rooms))["outputs"] == []
    assert (await cell(rooms))["execution_count"] is None
    for chunk in ("a", "b\n"):
        await writer.apply(stream(chunk))
    await writer.apply(stream("warn\n", "stderr"))
    await writer.apply(event(EventType.FINISHED, status="succeeded", execution_count=3))
    result = await cell(rooms)
    assert result["outputs"] == [
        {"output_type": "stream", "name": "stdout", "text": "ab\n"},
        {"output_type": "stream", "name": "stderr", "text": "warn\n"},
    ]
    assert result["execution_count"] == 3


async def test_a_run_without_a_start_event_begins_with_its_first_output(
    rooms: RoomManager, writer: OutputWriter
) -> None:
    """A quick run's first event is its output (no start is sent): it still clears the stale
    outputs and count, and shows the cell running until it ends."""
    await writer.apply(stream("new\n"))
    result = await cell(rooms)
    assert result["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "new\n"}]
    assert result["execution_count"] is None
    assert await execution_state(rooms) == "running"
    await writer.apply(event(EventType.FINISHED, status="succeeded", execution_count=8))
    assert (await cell(rooms))["execution_count"] == 8
    assert await execution_state(rooms) == "idle"


async def test_display_updates_and_clear_output(rooms: RoomManager, writer: OutputWriter) -> None:
    """A display is updated in place by its display id; clear_output empties the cell."""
    await writer.apply(event(EventType.STARTED))
    display = {
        "output_type": "display_data",
        "data": {"text/plain": "0%"},
        "metadata": {},
        "transient": {"display_id": "progress"},
    }
    await writer.apply(event(EventType.OUTPUT, output=display))
    await writer.apply(
        event(
            EventType.OUTPUT,
            output={
                "output_type": "update_display_data",
                "display_id": "progress",
                "data": {"text/plain": "100%"},
                "metadata": {},
            },
        )
    )
    outputs = (await cell(rooms))["outputs"]
    assert outputs == [
        {"output_type": "display_data", "data": {"text/plain": "100%"}, "metadata": {}}
    ]
    await writer.apply(event(EventType.OUTPUT, output={"output_type": "clear_output"}))
    await writer.apply(stream("after\n"))
    assert (await cell(rooms))["outputs"] == [
        {"output_type": "stream", "name": "stdout", "text": "after\n"}
    ]


async def test_events_for_a_deleted_cell_are_skipped(
    rooms: RoomManager, writer: OutputWriter
) -> None:
    """Outputs of a cell a collaborator deleted meanwhile go nowhere, and break nothing."""
    started = JobEvent(EventType.STARTED, "job2", session_id="s1", cell_id="gone", seq=1)
    await writer.apply(started)
    assert (await cell(rooms))["outputs"][0]["text"] == "stale\n"


async def test_each_change_of_a_run_is_stored_once(
    rooms: RoomManager, writer: OutputWriter, store: Store
) -> None:
    """Each change a run makes is appended to the store once (by the writer; the room does
    not save it again), and the stored document shows the run's outputs."""
    before = len((await store.documents.load("s1")).updates)
    events = [event(EventType.STARTED), stream("a\n"), stream("b\n")]
    for each in [*events, event(EventType.FINISHED, status="succeeded", execution_count=1)]:
        await writer.apply(each)
    await asyncio.sleep(0.2)  # the room's saving task has had its chance to append
    state = await store.documents.load("s1")
    assert len(state.updates) - before == 4
    stored = content_of(wrap(SessionKind.NOTEBOOK, doc_from_state("s1", state)))
    assert stored["cells"][0]["outputs"] == [  # type: ignore[index]
        {"output_type": "stream", "name": "stdout", "text": "a\nb\n"}
    ]


async def test_a_room_given_only_run_outputs_still_compacts(store: Store) -> None:
    """A room whose changes all come from runs compacts its stored history when it is due."""
    bus = MemoryBus()
    await bus.start()
    manager = RoomManager(store, bus, instance_id="i1", compact_every=3)
    await manager.start()
    writer = OutputWriter(manager, store)
    try:
        await writer.apply(event(EventType.STARTED))
        for n in range(6):
            await writer.apply(stream(f"{n}\n"))
        async with asyncio.timeout(10):
            # Polled: the store has no change event to wait on.
            while (await store.documents.load("s1")).snapshot is None:
                await asyncio.sleep(0.02)
    finally:
        await manager.stop()
        await bus.close()


async def clients(rooms: RoomManager) -> int:
    """How many Yjs clients the live document holds structs of."""
    async with rooms.edit("s1", SessionKind.NOTEBOOK) as notebook:
        return len(decode_state_vector(notebook.ydoc.get_state()))


async def test_runs_do_not_add_a_client_each_to_the_document(
    rooms: RoomManager, writer: OutputWriter
) -> None:
    """Ten runs add one Yjs client to the notebook, not ten: each client stays in the state
    vector that every later update and sync carries."""
    before = await clients(rooms)
    for run in range(10):
        output = {"output_type": "stream", "name": "stdout", "text": f"{run}\n"}
        done = {"status": "succeeded", "execution_count": run + 1}
        for seq, (kind, fields) in enumerate(
            [(EventType.OUTPUT, {"output": output}), (EventType.FINISHED, done)], start=1
        ):
            await writer.apply(
                JobEvent(kind, f"job{run}", session_id="s1", cell_id="c1", seq=seq, **fields)
            )
    assert (await cell(rooms))["outputs"][0]["text"] == "9\n"
    assert await clients(rooms) - before == 1
