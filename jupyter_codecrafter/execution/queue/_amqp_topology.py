"""What the RabbitMQ queue declares, and how it reads a delivery's history.

    enqueue ──> jobs exchange (direct) ──> jobs queue (quorum) ──x-delivery-limit──> dead
    enqueue(worker) ──> worker queue (quorum, per worker) ──TTL or delivery limit──┐
    hand_back(worker) ──────────────────────────────────────────────────────────────┤
                        returns queue (quorum, no length limit) <── jobs exchange <─┘
                        returns queue ──x-delivery-limit──> dead
    publish_event ──> events queue (per server instance, durable, single active consumer)

A job for a worker that stops consuming waits ``worker_queue_ttl_s`` in that worker's queue,
or until a reaper hands it back, then moves to the returns queue, which every worker takes
from as from the jobs queue. The returns queue has no length limit on purpose: RabbitMQ
drops a dead-lettered message that a full queue refuses, and these jobs were accepted once
already. The worker queue itself is deleted once unused for long enough that every message
in it has had time to move on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aio_pika.abc import AbstractExchange, AbstractQueue, AbstractRobustChannel, ExchangeType

from ...constants import (
    DEAD_LETTER_EXCHANGE,
    DEAD_LETTER_QUEUE,
    DEFAULT_WORKER_HEARTBEAT_TTL_S,
    EVENTS_QUEUE_PREFIX,
    JOBS_EXCHANGE,
    JOBS_QUEUE,
    WORKER_QUEUE_PREFIX,
)
from ._options import QueueOptions

# A worker queue outlives its last use by the message TTL plus the time servers may still
# route to a dead worker (its kernel-owner key's TTL), plus a margin: until then a job sent to
# it still has time to expire into the shared queue instead of vanishing with the queue.
_WORKER_QUEUE_EXPIRY_MARGIN_S = 60.0
# An instance's event queue is deleted once nobody consumed it for this long: its own
# instance is gone, and every other one released it (see handover.py).
_EVENTS_QUEUE_EXPIRY_S = 3600.0
_RETURNS_SUFFIX = ".returned"
# Deliveries a job had before it was handed back to another queue, which counts afresh.
CARRIED_DELIVERIES = "x-codecrafter-deliveries"


@dataclass(frozen=True, slots=True)
class Topology:
    options: QueueOptions

    @property
    def jobs_exchange(self) -> str:
        return self.options.namespace + JOBS_EXCHANGE

    @property
    def jobs_queue(self) -> str:
        return self.options.namespace + JOBS_QUEUE

    @property
    def returns_queue(self) -> str:
        return self.options.namespace + JOBS_QUEUE + _RETURNS_SUFFIX

    @property
    def dead_exchange(self) -> str:
        return self.options.namespace + DEAD_LETTER_EXCHANGE

    @property
    def dead_queue(self) -> str:
        return self.options.namespace + DEAD_LETTER_QUEUE

    def worker_queue(self, worker_id: str) -> str:
        return self.options.namespace + WORKER_QUEUE_PREFIX + worker_id

    def events_queue(self, instance_id: str) -> str:
        return self.options.namespace + EVENTS_QUEUE_PREFIX + instance_id

    def jobs_arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            # RabbitMQ dead-letters once a message was *returned* more than this many times,
            # so the limit of deliveries is one more.
            "x-delivery-limit": self.options.delivery_limit - 1,
            "x-max-length": self.options.max_length,
            "x-overflow": "reject-publish",
            "x-dead-letter-exchange": self.dead_exchange,
        }

    def returns_arguments(self) -> dict[str, Any]:
        arguments = self.jobs_arguments()
        del arguments["x-max-length"], arguments["x-overflow"]
        return arguments

    def events_arguments(self) -> dict[str, Any]:
        return {
            "x-single-active-consumer": True,
            "x-expires": round(_EVENTS_QUEUE_EXPIRY_S * 1000),
        }

    def worker_arguments(self) -> dict[str, Any]:
        ttl_s = self.options.worker_queue_ttl_s
        expires_s = ttl_s + DEFAULT_WORKER_HEARTBEAT_TTL_S + _WORKER_QUEUE_EXPIRY_MARGIN_S
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.options.delivery_limit - 1,
            "x-max-length": self.options.max_length,
            "x-overflow": "reject-publish",
            "x-message-ttl": round(ttl_s * 1000),
            "x-expires": round(expires_s * 1000),
            "x-dead-letter-exchange": self.jobs_exchange,
            "x-dead-letter-routing-key": self.returns_queue,
        }

    async def declare(self, channel: AbstractRobustChannel) -> AbstractExchange:
        """Declare the exchanges and durable queues every process needs (idempotent).

        Returns the jobs exchange, where jobs for any worker are published.
        """
        dead_exchange = await channel.declare_exchange(
            self.dead_exchange, ExchangeType.FANOUT, durable=True
        )
        dead_queue = await self.declare_dead_queue(channel)
        await dead_queue.bind(dead_exchange)
        jobs_exchange = await channel.declare_exchange(
            self.jobs_exchange, ExchangeType.DIRECT, durable=True
        )
        jobs_queue = await self.declare_jobs_queue(channel)
        await jobs_queue.bind(jobs_exchange, routing_key=self.jobs_queue)
        returns_queue = await self.declare_returns_queue(channel)
        await returns_queue.bind(jobs_exchange, routing_key=self.returns_queue)
        return jobs_exchange

    async def declare_dead_queue(self, channel: AbstractRobustChannel) -> AbstractQueue:
        return await channel.declare_queue(
            self.dead_queue, durable=True, arguments={"x-queue-type": "quorum"}
        )

    async def declare_events_queue(
        self, channel: AbstractRobustChannel, instance_id: str, *, robust: bool = True
    ) -> AbstractQueue:
        # Durable and shared: when its instance goes, another one takes its events over.
        return await channel.declare_queue(
            self.events_queue(instance_id),
            durable=True,
            arguments=self.events_arguments(),
            robust=robust,
        )

    async def declare_returns_queue(
        self, channel: AbstractRobustChannel, *, robust: bool = True
    ) -> AbstractQueue:
        return await channel.declare_queue(
            self.returns_queue, durable=True, arguments=self.returns_arguments(), robust=robust
        )

    async def declare_jobs_queue(
        self, channel: AbstractRobustChannel, *, robust: bool = True
    ) -> AbstractQueue:
        return await channel.declare_queue(
            self.jobs_queue, durable=True, arguments=self.jobs_arguments(), robust=robust
        )

    async def declare_worker_queue(
        self, channel: AbstractRobustChannel, worker_id: str, *, robust: bool = True
    ) -> AbstractQueue:
        return await channel.declare_queue(
            self.worker_queue(worker_id),
            durable=True,
            arguments=self.worker_arguments(),
            robust=robust,
        )


def delivery_count(headers: Mapping[str, Any], delivery_limit: int) -> int:
    """Which delivery of a job this is (1 for the first), across the queues it went through.

    Quorum queues count returns in ``x-delivery-count``; a job that exhausted its deliveries in
    a worker's queue arrives in the returns queue with an ``x-death`` entry saying so, and those
    deliveries count too, as do those a job handed back carries (``CARRIED_DELIVERIES``).
    (Deliveries before a job merely *expired* from a worker queue are not recorded by
    RabbitMQ, so such a job may get up to twice the limit.)
    """
    count = int(headers.get("x-delivery-count") or 0) + 1
    count += int(headers.get(CARRIED_DELIVERIES) or 0)
    deaths = headers.get("x-death") or []
    for death in deaths if isinstance(deaths, list) else []:
        if isinstance(death, Mapping) and death.get("reason") == "delivery_limit":
            count += delivery_limit * int(death.get("count") or 1)
    return count
