"""Helpers for the job queue suites (tests/execution/test_queue*.py)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Protocol

import aio_pika
from aiormq.exceptions import AMQPError

from jupyter_codecrafter.execution.queue._amqp_topology import Topology
from jupyter_codecrafter.execution.queue._options import QueueOptions
from jupyter_codecrafter.execution.queue.amqp import AmqpQueue
from jupyter_codecrafter.execution.queue.base import (
    EventHandler,
    JobHandler,
    JobMessage,
    JobQueue,
)
from jupyter_codecrafter.utils import new_id


class QueueFactory(Protocol):
    def __call__(self, **options: Any) -> JobQueue: ...


def job(name: str | None = None) -> JobMessage:
    return JobMessage(job_id=name or new_id(), kind="snippet")


class TrackedAmqpQueue(AmqpQueue):
    """An AmqpQueue that remembers the worker and instance ids it declared queues for."""

    def __init__(self, url: str, options: QueueOptions) -> None:
        super().__init__(url, options)
        self.worker_ids: set[str] = set()
        self.instance_ids: set[str] = set()

    async def consume(self, worker_id: str, handler: JobHandler, *, prefetch: int) -> None:
        self.worker_ids.add(worker_id)
        await super().consume(worker_id, handler, prefetch=prefetch)

    async def consume_events(self, instance_id: str, handler: EventHandler) -> None:
        self.instance_ids.add(instance_id)
        await super().consume_events(instance_id, handler)

    async def stand_by(self, instance_id: str) -> None:
        self.instance_ids.add(instance_id)
        await super().stand_by(instance_id)


async def delete_amqp_names(
    url: str, namespace: str, worker_ids: set[str], instance_ids: frozenset[str] = frozenset()
) -> None:
    """Delete the queues and exchanges a test declared under ``namespace``."""
    topology = Topology(QueueOptions(namespace=namespace))
    queues = [topology.jobs_queue, topology.returns_queue, topology.dead_queue]
    queues += [topology.worker_queue(worker_id) for worker_id in worker_ids]
    queues += [topology.events_queue(instance_id) for instance_id in instance_ids]
    exchanges = [topology.jobs_exchange, topology.dead_exchange]
    connection = await aio_pika.connect(url)
    async with connection:
        for name in queues:
            with contextlib.suppress(AMQPError):
                channel = await connection.channel()
                await channel.queue_delete(name)
        for name in exchanges:
            with contextlib.suppress(AMQPError):
                channel = await connection.channel()
                await channel.exchange_delete(name)


class Recorder:
    """A job handler that records deliveries and can hold them until released."""

    def __init__(self, *, hold: bool = False, fail: bool = False) -> None:
        self.deliveries: list[tuple[str, int]] = []  # (job id, delivery count)
        self.running = 0
        self.max_running = 0
        self.release = asyncio.Event()
        self._fail = fail
        if not hold:
            self.release.set()

    @property
    def job_ids(self) -> list[str]:
        return [job_id for job_id, _ in self.deliveries]

    async def __call__(self, delivery: Any) -> None:
        self.deliveries.append((delivery.message.job_id, delivery.delivery_count))
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await self.release.wait()
            if self._fail:
                raise RuntimeError("handler failure on purpose")
        finally:
            self.running -= 1
