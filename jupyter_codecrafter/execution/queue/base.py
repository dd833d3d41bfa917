"""The job queue interface: jobs from servers to workers, events from workers back.

Two implementations: ``MemoryQueue`` (one process, embedded mode) and ``AmqpQueue``
(RabbitMQ through aio-pika). The contract both keep:

- ``enqueue`` returns only once the broker has the job (publisher confirm); a full queue
  raises :class:`~jupyter_codecrafter.errors.QueueFull` instead of waiting. In process, a
  job a consumer is idle for is handed to it first: ``enqueue`` returns once the handler
  has begun it (:attr:`Delivery.begun`), ended, or had ``HANDOFF_S``, because the server
  and its worker share one event loop and the run should reach its kernel before the
  server spends that loop answering the request (``bench/warm_cell.py``).
- A delivery is acknowledged only after its handler returns. A handler that raises, or a
  worker that dies, gets the job redelivered; after ``delivery_limit`` deliveries the job goes
  to the dead-letter handler instead.
- Jobs for a session whose kernel lives on a worker are enqueued to that worker
  (``worker_id``); if that worker stops consuming, its jobs flow back after
  ``worker_queue_ttl_s`` so another worker runs them (with a fresh kernel), or at once when
  :meth:`JobQueue.hand_back` moves them. Jobs that flow back are never refused for a full
  queue: they were accepted once already.
- Events are published to the queue of one server instance (``reply_to``), which outlives
  its instance. Every other instance stands by on it (:meth:`JobQueue.stand_by`): exactly
  one consumer of an instance's queue is active at a time, and when it goes the next takes
  its events over, those it had not acknowledged first (see ``writer.py`` for why that is
  enough for exactly-once outputs). The events waiting are handed over together, in order,
  as one batch (at most ``EVENT_BATCH``): under a classroom's burst, the runs of one
  notebook are then written as one change, and different notebooks side by side.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ...errors import MalformedMessage
from ._options import QueueOptions

EVENT_BATCH = 64  # events handed to the handler at once, at most


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


def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Delivery:
    message: JobMessage
    delivery_count: int  # 1 on first delivery
    # The handler calls it once the job has begun, or must wait for something first: the
    # in-process queue's enqueue returns then (idempotent; a no-op on RabbitMQ).
    begun: Callable[[], None] = field(default=_nothing, compare=False)


@dataclass(frozen=True, slots=True)
class EventDelivery:
    """One event, and what its consumer knows about its hold on the queue it came from."""

    body: bytes
    # Names one unbroken hold of this consumer on one instance's event queue. Within a
    # tenure nobody else receives that queue's events; a reconnect starts a new one.
    tenure: str
    # Given to a consumer before, which may have acted on it before it went.
    redelivered: bool = False
    # Whether the delivery is still this consumer's: False once its channel closed, when
    # the broker hands the event to the next consumer.
    held: Callable[[], bool] = field(default=lambda: True, compare=False)


JobHandler = Callable[[Delivery], Awaitable[None]]
DeadLetterHandler = Callable[[JobMessage], Awaitable[None]]
# The events waiting, oldest first. A handler that raises gets the same batch again after a
# pause: events are never skipped, so a handler drops what it can never handle itself.
EventHandler = Callable[[Sequence[EventDelivery]], Awaitable[None]]


def one_by_one(handle: Callable[[EventDelivery], Awaitable[None]]) -> EventHandler:
    """An event handler that handles a batch's events in turn."""

    async def handler(batch: Sequence[EventDelivery]) -> None:
        for delivery in batch:
            await handle(delivery)

    return handler


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
        """Take no new deliveries; handlers in flight keep running (graceful shutdown), and
        jobs delivered but not handed to a handler yet go back to their queue."""

    @abstractmethod
    async def hand_back(self, worker_id: str) -> int:
        """Move the jobs waiting in ``worker_id``'s queue (a worker that stopped, or died) to
        the queue every worker takes from; how many moved. Each leaves its queue only once
        it is safely in the other."""

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
        """Deliver this instance's events to ``handler``, a batch at a time, in publishing
        order per worker; acknowledged once the handler returns."""

    @abstractmethod
    async def stand_by(self, instance_id: str) -> None:
        """Also consume another instance's events (to the same handler), becoming their
        active consumer only when that instance's own consumer is gone. Idempotent."""

    @abstractmethod
    async def release(self, instance_id: str) -> bool:
        """Stop standing by for a gone instance and delete its event queue, if that queue is
        empty; whether it was (False: events still wait, keep standing by)."""

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
