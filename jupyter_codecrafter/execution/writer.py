"""The single writer of run outputs into a session's shared notebook.

Only the server instance that queued a job receives its events, so every output is written
into the document exactly once, then reaches every collaborator through the room.
"""

from __future__ import annotations

import logging

from ..rooms.manager import RoomManager
from ..rooms.notebook import (
    append_output,
    clear_outputs,
    find_cell,
    set_execution_count,
    set_execution_state,
)
from ..store.records import SessionKind
from .events import EventType, JobEvent

log = logging.getLogger("jupyter_codecrafter.execution")


class OutputWriter:
    def __init__(self, rooms: RoomManager) -> None:
        self._rooms = rooms

    async def apply(self, event: JobEvent) -> None:
        """Write one event into its cell; a cell that no longer exists is skipped."""
        if event.session_id is None or event.cell_id is None:
            return
        async with self._rooms.edit(event.session_id, SessionKind.NOTEBOOK) as notebook:
            cell = find_cell(notebook, event.cell_id)
            if cell is None:
                log.debug(
                    "cell %s is gone; output kept in job %s only", event.cell_id, event.job_id
                )
                return
            if event.type is EventType.STARTED:
                clear_outputs(cell)
                set_execution_count(cell, None)
                set_execution_state(cell, "busy")
            elif event.type is EventType.OUTPUT and event.output is not None:
                append_output(cell, event.output)
            elif event.type is EventType.FINISHED:
                set_execution_count(cell, event.execution_count)
                set_execution_state(cell, "idle")
