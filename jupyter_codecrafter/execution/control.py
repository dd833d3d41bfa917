"""What servers and workers tell each other outside the job queue: commands for a worker
(interrupt or restart a session's kernel, cancel a job) on its bus channel, and the state of
each session's kernel, kept in the bus cache and announced to the session's room.

Both travel on the bus (at-most-once): a lost command is a button pressed again, and the
kernel state is renewed with the worker's heartbeat.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from ..constants import KERNEL_STATE_KEY_PREFIX, WORKER_CONTROL_CHANNEL_PREFIX
from ..errors import MalformedMessage


class KernelState(enum.StrEnum):
    NONE = "none"  # no kernel: the next cell run starts one
    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    DEAD = "dead"  # it died (out of memory, crashed); the next cell run starts a new one


class Action(enum.StrEnum):
    INTERRUPT = "interrupt"
    RESTART = "restart"
    CANCEL = "cancel"


@dataclass(frozen=True, slots=True)
class KernelStatus:
    state: KernelState
    worker: str | None = None
    started_at: datetime | None = None
    last_activity_at: datetime | None = None

    def encode(self) -> bytes:
        return json.dumps(self.to_json()).encode()

    def to_json(self) -> dict[str, Any]:
        return {
            "state": str(self.state),
            "worker": self.worker,
            "started_at": _iso(self.started_at),
            "last_activity_at": _iso(self.last_activity_at),
        }

    @classmethod
    def decode(cls, data: bytes) -> KernelStatus:
        try:
            fields = json.loads(data)
            return cls(
                KernelState(fields["state"]),
                fields.get("worker"),
                _datetime(fields.get("started_at")),
                _datetime(fields.get("last_activity_at")),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise MalformedMessage("Malformed kernel status.") from exc


NO_KERNEL = KernelStatus(KernelState.NONE)


@dataclass(frozen=True, slots=True)
class WorkerCommand:
    action: Action
    session_id: str | None = None
    job_id: str | None = None

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, data: bytes) -> WorkerCommand:
        try:
            fields: dict[str, Any] = json.loads(data)
            return cls(Action(fields.pop("action")), **fields)
        except (ValueError, TypeError, KeyError) as exc:
            raise MalformedMessage("Malformed worker command.") from exc


def kernel_state_key(session_id: str) -> str:
    return KERNEL_STATE_KEY_PREFIX + session_id


def worker_channel(worker_id: str) -> str:
    return WORKER_CONTROL_CHANNEL_PREFIX + worker_id


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _datetime(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)
