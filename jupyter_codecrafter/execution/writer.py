"""The single writer of run outputs into a session's shared notebook.

Only the server instance that queued a job receives its events, so every output is written
into the document exactly once, then reaches every collaborator through the room.
"""

from __future__ import annotations

import logging
from typing import Any

from pycrdt import Map

from ..rooms.manager import RoomManager
from ..rooms.notebook import (
    append_output,
    clear_outputs,
    find_cell,
    set_execution_count,
    set_execution_state,
    set_output_data,
)
from ..store.records import SessionKind
from .events import EventType, JobEvent

log = logging.getLogger("jupyter_codecrafter.execution")


class OutputWriter:
    def __init__(self, rooms: RoomManager) -> None:
        self._rooms = rooms
        # job id -> display id -> indices of that display among the cell's outputs
        self._displays: dict[str, dict[str, list[int]]] = {}

    async def apply(self, event: JobEvent) -> None:
        """Write one event into its cell; a cell that no longer exists is skipped."""
        if event.session_id is None or event.cell_id is None:
            return
        if event.type is EventType.FINISHED:
            self._displays.pop(event.job_id, None)
        async with self._rooms.edit(event.session_id, SessionKind.NOTEBOOK) as notebook:
            cell = find_cell(notebook, event.cell_id)
            if cell is None:
                log.debug(
                    "cell %s is gone; output kept in job %s only", event.cell_id, event.job_id
                )
                return
            self._write(cell, event)

    async def mark_idle(self, session_id: str, cell_id: str) -> None:
        """A cell whose queued run was cancelled: not busy, outputs and count as they were."""
        async with self._rooms.edit(session_id, SessionKind.NOTEBOOK) as notebook:
            cell = find_cell(notebook, cell_id)
            if cell is not None and cell.get("execution_state") != "idle":
                set_execution_state(cell, "idle")

    def _write(self, cell: Map[Any], event: JobEvent) -> None:
        if event.type is EventType.STARTED:
            self._clear(cell, event.job_id)
            set_execution_count(cell, None)
            set_execution_state(cell, "running")
        elif event.type is EventType.OUTPUT and event.output is not None:
            self._output(cell, event.job_id, dict(event.output))
        elif event.type is EventType.FINISHED:
            set_execution_count(cell, event.execution_count)
            set_execution_state(cell, "idle")

    def _output(self, cell: Map[Any], job_id: str, output: dict[str, Any]) -> None:
        kind = output.get("output_type")
        if kind == "clear_output":
            self._clear(cell, job_id)
        elif kind == "update_display_data":
            for index in self._displays.get(job_id, {}).get(output.get("display_id", ""), []):
                set_output_data(cell, index, output.get("data", {}), output.get("metadata", {}))
        else:
            display_id = (output.pop("transient", None) or {}).get("display_id")
            append_output(cell, output)
            if display_id:
                index = len(cell["outputs"]) - 1
                self._displays.setdefault(job_id, {}).setdefault(display_id, []).append(index)

    def _clear(self, cell: Map[Any], job_id: str) -> None:
        clear_outputs(cell)
        self._displays.pop(job_id, None)
