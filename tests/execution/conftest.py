"""Fixtures of the execution suites: the queue under test, on each backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from jupyter_codecrafter.execution.queue._options import QueueOptions
from jupyter_codecrafter.execution.queue.base import JobQueue
from jupyter_codecrafter.execution.queue.memory import MemoryQueue

from .queue_support import QueueFactory, TrackedAmqpQueue, delete_amqp_names


@pytest.fixture(params=["memory", "amqp"])
def backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    """The backend and its URL (resolved here: the service probes cannot run inside a loop)."""
    if request.param == "amqp":
        return "amqp", str(request.getfixturevalue("amqp_url"))
    return "memory", ""


@pytest.fixture
async def make_queue(backend: tuple[str, str], namespace: str) -> AsyncIterator[QueueFactory]:
    """Makes handles on one queue: MemoryQueue peers, or AmqpQueues on one namespace.

    Every handle of a test must be made with the same options.
    """
    kind, url = backend
    made: list[JobQueue] = []

    def factory(**options: Any) -> JobQueue:
        if kind == "memory":
            first = made[0] if made else None
            queue: JobQueue = (
                first.peer()
                if isinstance(first, MemoryQueue)
                else MemoryQueue(QueueOptions(**options))
            )
        else:
            queue = TrackedAmqpQueue(url, QueueOptions(namespace=namespace, **options))
        made.append(queue)
        return queue

    yield factory
    for queue in made:
        await queue.close()
    if kind == "amqp":
        tracked = [q for q in made if isinstance(q, TrackedAmqpQueue)]
        worker_ids = {w for q in tracked for w in q.worker_ids}
        instance_ids = frozenset(i for q in tracked for i in q.instance_ids)
        await delete_amqp_names(url, namespace, worker_ids, instance_ids)
