"""The writer of run outputs into a session's shared notebook: each event exactly once,
even when the server instance writing them dies mid-run.

Events of the runs an instance queued reach that instance's event queue, which outlives it:
when it goes, RabbitMQ hands the queue to another instance, with the events the first had
not acknowledged (see ``queue/base.py``). So an event may be handled twice, by two
instances one after the other. Three rules make its effect land once:

1. **The record travels with the effect.** A cell's outputs and the record of which events
   they hold (``runlog.py``) change in one Y transaction; an event the record covers is
   skipped.
2. **Stored before seen.** Each change is made in a private copy of the document
   (``scratch.py``), appended to the store, and only then applied to the room, which shows
   it to clients and other instances. No copy anywhere can hold a change the store lacks.
3. **Read the store after a takeover.** Before applying an event this instance cannot
   vouch for (redelivered, or not following the last event it handled itself on the same
   unbroken hold of the queue), the room takes in everything stored, so the record is the
   last one any instance wrote. A redelivered event waits ``fence_s`` first: a write the
   dead instance had sent lands meanwhile, or never.

Why that is exactly once: two instances apply the same event only if both read a record
without it. A queue has one active consumer at a time, so the second one received it after
the first lost the queue, as a redelivery, or after the first acknowledged it, which it did
only once its change was stored. Either way the second read the store (rule 3) after the
first's change was there (rule 2), and that change carried the record (rule 1). The
assumption: an instance that lost its hold on the queue stops writing within ``fence_s``;
it checks its hold just before each append, so only a process paused or cut off from the
broker for that long (not one that was killed) could break it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from jupyter_ydoc import YNotebook
from pycrdt import Doc, Map, merge_updates

from ..rooms.manager import RoomManager
from ..rooms.notebook import (
    append_output,
    clear_outputs,
    find_cell,
    set_execution_count,
    set_execution_state,
    set_output_data,
)
from ..store.base import Store
from ..store.records import SessionKind
from . import runlog
from .events import EventType, JobEvent
from .queue.base import EventDelivery
from .runlog import CellRecord, Decision
from .scratch import Scratch

log = logging.getLogger("jupyter_codecrafter.execution")

FENCE_S = 0.5
MAX_SCRATCHES = 64  # a dropped copy is made again from the room when next needed

# An event handed to the writer directly, not through a queue (tests, the embedded server).
LOCAL = EventDelivery(b"", tenure="local")


class OutputWriter:
    def __init__(self, rooms: RoomManager, store: Store, *, fence_s: float = FENCE_S) -> None:
        self._rooms = rooms
        self._store = store
        self._fence_s = fence_s
        self._scratches: OrderedDict[str, Scratch] = OrderedDict()
        # (session, cell) -> the cell's record position after our last decision, and the
        # tenure of the delivery it was made for.
        self._held: dict[tuple[str, str], tuple[tuple[str, int, int], str]] = {}

    async def apply(self, event: JobEvent, delivery: EventDelivery = LOCAL) -> None:
        """Write one event into its cell, unless it is there already; a cell that no longer
        exists is skipped. Raises (to be retried) when the store or the room fails."""
        await self.apply_all(event.session_id or "", [(event, delivery)])

    async def apply_all(
        self, session_id: str, events: Sequence[tuple[JobEvent, EventDelivery]]
    ) -> None:
        """Write events of one session, in order, as one change: one append to the store and
        one update to the room's clients, however many events and cells."""
        events = [(e, d) for e, d in events if e.session_id == session_id and e.cell_id]
        if not session_id or not events:
            return
        async with self._rooms.edit(session_id, SessionKind.NOTEBOOK) as notebook:
            await self._apply(session_id, notebook.ydoc, events)
        for event, _ in events:
            if event.type is EventType.FINISHED:
                self._forget((session_id, str(event.cell_id)))

    async def mark_idle(self, session_id: str, cell_id: str) -> None:
        """A cell whose queued run was cancelled: not busy, outputs and count as they were."""
        async with self._rooms.edit(session_id, SessionKind.NOTEBOOK) as notebook:
            cell = find_cell(notebook, cell_id)
            if cell is not None and cell.get("execution_state") != "idle":
                set_execution_state(cell, "idle")

    async def _apply(
        self, session_id: str, room: Doc[Any], events: Sequence[tuple[JobEvent, EventDelivery]]
    ) -> None:
        scratch, batch = self._scratch(session_id, room), _Batch()
        for event, delivery in events:
            key = (session_id, str(event.cell_id))
            record = await self._record(key, scratch, room, event, delivery, batch)
            decision = runlog.decide(record, event)
            if decision is not Decision.SKIP:
                batch.changed(
                    await self._change(scratch, key[1], event, record, decision), delivery
                )
                record = runlog.read(scratch.doc, key[1])
            batch.hold(key, record, delivery)
        if not batch.updates or await self._reveal(session_id, batch):
            self._held.update(batch.holds)

    async def _record(
        self,
        key: tuple[str, str],
        scratch: Scratch,
        room: Doc[Any],
        event: JobEvent,
        delivery: EventDelivery,
        batch: _Batch,
    ) -> CellRecord | None:
        """The cell's record to decide on, once the room took in what is stored if unsure."""
        record = runlog.read(scratch.doc, key[1])
        if runlog.decide(record, event) is Decision.SKIP:
            return record
        if not self._unsure(key, event, delivery, batch):
            return record
        await self._settle(key[0], room, delivery)
        scratch.sync(room)
        return runlog.read(scratch.doc, key[1])

    async def _change(
        self,
        scratch: Scratch,
        cell_id: str,
        event: JobEvent,
        record: CellRecord | None,
        decision: Decision,
    ) -> bytes | None:
        outputs = await self._stored_outputs(event, record, decision)
        return scratch.change(lambda nb: _write(nb, cell_id, event, record, decision, outputs))

    async def _reveal(self, session_id: str, batch: _Batch) -> bool:
        """Store the change, then show it; a change not shown is dropped with its copy.
        False when the events went to another consumer meanwhile: that one writes them."""
        update = batch.updates[0] if len(batch.updates) == 1 else merge_updates(*batch.updates)
        try:
            if not all(delivery.held() for delivery in batch.deliveries):
                self._scratches.pop(session_id, None)
                return False
            await self._store.documents.append(session_id, update)
        except BaseException:
            self._scratches.pop(session_id, None)
            raise
        self._rooms.apply_stored(session_id, update)  # stored once: by us, not the room again
        return True

    def _unsure(
        self, key: tuple[str, str], event: JobEvent, delivery: EventDelivery, batch: _Batch
    ) -> bool:
        """Whether another instance may have written this run's events since this one last
        did: then the room must take in what is stored before deciding."""
        held = batch.holds.get(key) or self._held.get(key)
        if event.seq > 1 and held == (runlog.predecessor(event), delivery.tenure):
            return False
        return delivery.redelivered or event.seq > 1

    async def _settle(self, session_id: str, room: Doc[Any], delivery: EventDelivery) -> None:
        if delivery.redelivered:
            await asyncio.sleep(self._fence_s)
        state = await self._store.documents.load(session_id)
        parts = ([state.snapshot] if state.snapshot else []) + list(state.updates)
        if parts:
            room.apply_update(merge_updates(*parts))

    async def _stored_outputs(
        self, event: JobEvent, record: CellRecord | None, decision: Decision
    ) -> list[dict[str, Any]] | None:
        """A run's outputs as its job saved them, when its last event finds some of its
        events missing (lost with a broker restart): the end shows them all."""
        if event.type is not EventType.FINISHED:
            return None
        applied = 0 if decision is Decision.BEGIN or record is None else record.applied
        if applied + 1 == event.seq:
            return None
        job = await self._store.jobs.get(event.job_id)
        return list(job.outputs) if job is not None else None

    def _scratch(self, session_id: str, room: Doc[Any]) -> Scratch:
        scratch = self._scratches.pop(session_id, None)
        if scratch is None or not scratch.serves(room):
            scratch = Scratch(room)
            self._drop_stale_scratches()
        self._scratches[session_id] = scratch
        while len(self._scratches) > MAX_SCRATCHES:
            self._scratches.popitem(last=False)
        scratch.sync(room)
        return scratch

    def _drop_stale_scratches(self) -> None:
        """Copies of rooms that were unloaded meanwhile: they would only take memory."""
        for session_id, scratch in list(self._scratches.items()):
            if scratch.stale:
                del self._scratches[session_id]

    def _forget(self, key: tuple[str, str]) -> None:
        self._held.pop(key, None)


class _Batch:
    """The changes of a batch of events made in the private copy, and where they leave each
    cell's record: kept by the writer only once the changes are stored and shown."""

    def __init__(self) -> None:
        self.updates: list[bytes] = []
        self.deliveries: list[EventDelivery] = []
        self.holds: dict[tuple[str, str], tuple[tuple[str, int, int], str]] = {}

    def changed(self, update: bytes | None, delivery: EventDelivery) -> None:
        if update is not None:
            self.updates.append(update)
            self.deliveries.append(delivery)

    def hold(
        self, key: tuple[str, str], record: CellRecord | None, delivery: EventDelivery
    ) -> None:
        if record is not None:
            self.holds[key] = (record.position, delivery.tenure)


def _write(
    nb: YNotebook,
    cell_id: str,
    event: JobEvent,
    record: CellRecord | None,
    decision: Decision,
    outputs: Sequence[dict[str, Any]] | None,
) -> bool:
    cell = find_cell(nb, cell_id)
    if cell is None:
        log.debug("cell %s is gone; output kept in job %s only", cell_id, event.job_id)
        return False
    if decision is Decision.BEGIN or record is None:
        _start(cell)
        record = CellRecord.begun(event)
    else:
        record = record.advanced(event)
    runlog.write(nb.ydoc, cell_id, _effect(cell, event, record, outputs))
    return True


def _start(cell: Map[Any]) -> None:
    clear_outputs(cell)
    set_execution_count(cell, None)
    set_execution_state(cell, "running")


def _effect(
    cell: Map[Any],
    event: JobEvent,
    record: CellRecord,
    outputs: Sequence[dict[str, Any]] | None,
) -> CellRecord:
    if event.type is EventType.OUTPUT and event.output is not None:
        return _output(cell, record, dict(event.output))
    if event.type is EventType.FINISHED:
        if outputs is not None:
            clear_outputs(cell)
            record = record.cleared()
            for output in outputs:
                record = _output(cell, record, dict(output))
        set_execution_count(cell, event.execution_count)
        set_execution_state(cell, "idle")
    return record


def _output(cell: Map[Any], record: CellRecord, output: dict[str, Any]) -> CellRecord:
    kind = output.get("output_type")
    if kind == "clear_output":
        clear_outputs(cell)
        return record.cleared()
    if kind == "update_display_data":
        for index in record.displays.get(output.get("display_id", ""), []):
            set_output_data(cell, index, output.get("data", {}), output.get("metadata", {}))
        return record
    display_id = (output.pop("transient", None) or {}).get("display_id")
    append_output(cell, output)
    if not display_id:
        return record
    return record.displayed(display_id, len(cell["outputs"]) - 1)
