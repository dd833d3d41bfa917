"""What the output writer has applied to each cell, kept in the document itself.

A root map of the session's document (``RUNS_KEY``, which no notebook schema reads) holds
one record per cell: which run last wrote the cell, up to which of its events, and where
its displays are. The writer changes a cell and its record in one Y transaction, so every
copy of the document that has an event's effect also has the record saying so, and an
event the record covers is never applied again, wherever it is redelivered.

Events of a run are numbered by its worker (``seq`` from 1, per attempt); runs of a cell
are ordered by when they were queued. A later run, or a later attempt of the same run,
takes the cell over (its outputs start afresh); anything older is stale.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from pycrdt import Doc, Map

from .events import JobEvent

RUNS_KEY = "codecrafter_runs"


class Decision(enum.Enum):
    SKIP = "skip"  # applied already, or older than what the cell shows
    BEGIN = "begin"  # the first event of a run (or attempt) that takes the cell over
    CONTINUE = "continue"  # the next event of the run the cell shows


@dataclass(frozen=True, slots=True)
class CellRecord:
    job_id: str
    queued_at: float
    attempt: int
    seq: int  # the last event applied
    applied: int  # events of this attempt applied; fewer than seq when some never came
    displays: dict[str, list[int]] = field(default_factory=dict)  # display id -> outputs

    @property
    def position(self) -> tuple[str, int, int]:
        return (self.job_id, self.attempt, self.seq)

    @classmethod
    def begun(cls, event: JobEvent) -> CellRecord:
        return cls(event.job_id, event.queued_at, event.attempt, event.seq, 1)

    def advanced(self, event: JobEvent) -> CellRecord:
        return replace(self, seq=event.seq, applied=self.applied + 1)

    def cleared(self) -> CellRecord:
        """The cell's outputs were cleared: no display is shown any more."""
        return replace(self, displays={})

    def displayed(self, display_id: str, index: int) -> CellRecord:
        shown = {**self.displays, display_id: [*self.displays.get(display_id, []), index]}
        return replace(self, displays=shown)


def decide(record: CellRecord | None, event: JobEvent) -> Decision:
    if record is None:
        return Decision.BEGIN
    mine, shown = (event.queued_at, event.job_id), (record.queued_at, record.job_id)
    if mine != shown:
        return Decision.BEGIN if mine > shown else Decision.SKIP
    if event.attempt != record.attempt:
        return Decision.BEGIN if event.attempt > record.attempt else Decision.SKIP
    return Decision.CONTINUE if event.seq > record.seq else Decision.SKIP


def predecessor(event: JobEvent) -> tuple[str, int, int]:
    return (event.job_id, event.attempt, event.seq - 1)


def read(doc: Doc[Any], cell_id: str) -> CellRecord | None:
    raw = doc.get(RUNS_KEY, type=Map).get(cell_id)
    if not isinstance(raw, dict):
        return None
    try:
        return CellRecord(
            job_id=str(raw["job_id"]),
            queued_at=float(raw["queued_at"]),
            attempt=int(raw["attempt"]),
            seq=int(raw["seq"]),
            applied=int(raw["applied"]),
            displays={str(k): [int(i) for i in v] for k, v in raw["displays"].items()},
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # not ours: the next run starts afresh


def write(doc: Doc[Any], cell_id: str, record: CellRecord) -> None:
    doc.get(RUNS_KEY, type=Map)[cell_id] = asdict(record)
