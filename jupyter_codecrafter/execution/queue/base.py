"""The job queue interface: jobs from servers to workers, events from workers back.

Two implementations: ``MemoryQueue`` (one process, embedded mode) and ``AmqpQueue``
(RabbitMQ through aio-pika). The contract both keep:

- ``enqueue`` returns only once the broker has the job (publisher confirm); a full queue
  raises :class:`~jupyter_codecrafter.errors.QueueFull` instead of waiting.
- A delivery is acknowledged only after its handler returns. A handler that raises, or a
  worker that dies, gets the job redelivered; after ``delivery_limit`` deliveries the job goes
  to the dead-letter handler instead.
- Jobs for a session whose kernel lives on a worker are enqueued to that worker
  (``worker_id``); if that worker stops consuming, its jobs flow back to the shared queue
  after ``worker_queue_ttl_s`` so another worker runs them (with a fresh kernel).
- Events are published to the queue of one server instance (``reply_to``); an instance that
  is gone loses its events (the job record in the store still has the result).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from ...errors import MalformedMessage
from ._options import QueueOptions


@dataclass(frozen=True, slots=True)
class JobMessage:
    """What travels on the queue: a reference to a job in the store, and where to report."""

    job_id: str
    kind: str  # JobKind value
    session_id: str | None = None
    reply_to: str | None = None  # instance id of the server that wants the events
    # The worker this job was sent to because it owns the session's kernel. A job that comes
    # back from the shared queue still naming another worker waited out that worker's queue:
    # the owner is gone (or stuck), and the receiving worker takes the session over.
    routed_to: str | None = None
    # Whether the submitter may run unconfined (see sessions.permissions.may_run_unconfined):
    # a worker whose sandbox is not confined refuses the job otherwise.
    unconfined_ok: bool = False
    user_id: str = ""  # who submitted it (their share of the workers, see worker/fairness.py)
    request_id: str | None = None  # of the HTTP request that queued it, for the logs

    def encode(self) -> bytes:
        return json.dumps(asdict(self)).encode()

    @classmethod
    def decode(cls, data: bytes) -> JobMessage:
        try:
            fields: dict[str, Any] = json.loads(data)
            return cls(**fields)
        except (ValueError, TypeError) as exc:
            raise MalformedMessage("Malformed job message.") from exc


@dataclass(frozen=True, slots=True)
class Delivery:
    message: JobMessage
    delivery_count: int  # 1 on first delivery


JobHandler = Callable[[Delivery], Awaitable[None]]
DeadLetterHandler = Callable[[JobMessage], Awaitable[None]]
EventHandler = Callable[[bytes], Awaitable[None]]


class JobQueue(ABC):
    @abstractmethod
    async def start(self) -> None:
        """Connect and declare what is needed (idempotent)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop consuming, let handlers in flight finish or be redelivered, disconnect."""

    @abstractmethod
    async def enqueue(self, message: JobMessage, *, worker_id: str | None = None) -> None:
        """Publish a job (to ``worker_id``'s queue when given); QueueFull when full."""

    @abstractmethod
    async def consume(self, worker_id: str, handler: JobHandler, *, prefetch: int) -> None:
        """Start delivering jobs from the shared queue and this worker's own queue to
        ``handler``, at most ``prefetch`` at once. Returns once consuming has started."""

    @abstractmethod
    async def stop_consuming(self) -> None:
        """Take no new deliveries; handlers in flight keep running (graceful shutdown)."""

    @abstractmethod
    async def consume_dead_letters(self, handler: DeadLetterHandler) -> None:
        """Deliver jobs that exceeded the delivery limit to ``handler`` (acked after it)."""

    @abstractmethod
    async def pending(self) -> int:
        """Jobs waiting in the shared queue (not counting deliveries in flight)."""

    @abstractmethod
    async def publish_event(self, reply_to: str, event: bytes) -> None:
        """Send an event to one server instance's event queue."""

    @abstractmethod
    async def consume_events(self, instance_id: str, handler: EventHandler) -> None:
        """Deliver this instance's events to ``handler``, in publishing order per worker."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise QueueError when the broker does not answer."""


def create_queue(broker_url: str, options: QueueOptions) -> JobQueue:
    """``memory://`` (in process) or ``amqp://`` / ``amqps://`` (RabbitMQ)."""
    if broker_url.startswith("memory:"):
        from .memory import MemoryQueue

        return MemoryQueue(options)
    if broker_url.startswith(("amqp://", "amqps://")):
        from .amqp import AmqpQueue

        return AmqpQueue(broker_url, options)
    raise ValueError(f"Unsupported broker URL scheme: {broker_url.split(':', 1)[0]!r}")
