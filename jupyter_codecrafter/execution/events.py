"""Events a worker sends back to the server instance that queued a job.

They drive the one writer of a cell's outputs in the shared document (see ``writer.py``);
the job record in the store stays the source of truth for the result.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import MalformedMessage


class EventType(enum.StrEnum):
    STARTED = "started"  # clear the cell's outputs, mark it busy
    OUTPUT = "output"  # one nbformat output (a stream chunk, display data, error...)
    FINISHED = "finished"  # final status and execution count


@dataclass(frozen=True, slots=True)
class JobEvent:
    type: EventType
    job_id: str
    session_id: str | None = None
    cell_id: str | None = None
    output: dict[str, Any] | None = None
    status: str | None = None
    execution_count: int | None = None
    attempt: int = 1
    seq: int = 0  # this event's place among its attempt's events, from 1 (see runlog.py)
    queued_at: float = 0.0  # when its job was queued (epoch seconds): orders a cell's runs
    extra: dict[str, Any] = field(default_factory=dict)

    def encode(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def decode(cls, data: bytes) -> JobEvent:
        try:
            fields: dict[str, Any] = json.loads(data)
            fields["type"] = EventType(fields["type"])
            return cls(**fields)
        except (ValueError, TypeError, KeyError) as exc:
            raise MalformedMessage("Malformed job event.") from exc
