"""The in-process queue hands a job to a consumer idle for it before ``enqueue`` returns,
so the embedded server's answer comes after the run began, never before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from jupyter_codecrafter.execution.queue import memory
from jupyter_codecrafter.execution.queue.base import Delivery
from jupyter_codecrafter.execution.queue.memory import MemoryQueue
from tests.waiting import eventually

from .queue_support import job


@pytest.fixture
async def queue(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[MemoryQueue]:
    # Long enough that an enqueue waiting for nothing hangs the test instead of passing.
    monkeypatch.setattr(memory, "HANDOFF_S", 60.0)
    queue = MemoryQueue()
    await queue.start()
    yield queue
    await queue.close()


async def idle_consumer(queue: MemoryQueue, prefetch: int, order: list[str]) -> asyncio.Event:
    """A consumer that notes each job it takes and calls ``begun`` once the test lets it."""
    go = asyncio.Event()

    async def handler(delivery: Delivery) -> None:
        order.append(f"took {delivery.message.job_id}")
        await go.wait()
        order.append(f"began {delivery.message.job_id}")
        delivery.begun()
        await asyncio.Event().wait()  # runs on until the queue closes

    consumer = queue.peer()
    await consumer.consume("w1", handler, prefetch=prefetch)
    await eventually(lambda: consumer._broker.idle_takers == prefetch)
    return go


async def test_enqueue_returns_once_the_idle_consumer_began_the_job(queue: MemoryQueue) -> None:
    """With a consumer idle, enqueue returns after its handler began the job, not before."""
    order: list[str] = []
    go = await idle_consumer(queue, 1, order)
    enqueued = asyncio.create_task(queue.enqueue(job("a")))
    await eventually(lambda: order == ["took a"])
    assert not enqueued.done()
    go.set()
    async with asyncio.timeout(5):
        await enqueued
    assert order == ["took a", "began a"]


async def test_enqueue_returns_at_once_when_no_consumer_is_free(queue: MemoryQueue) -> None:
    """A job no consumer has a slot for is queued and enqueue returns without waiting."""
    order: list[str] = []
    go = await idle_consumer(queue, 1, order)
    go.set()
    async with asyncio.timeout(5):
        await queue.enqueue(job("a"))
        await queue.enqueue(job("b"))
    assert order == ["took a", "began a"]
    assert await queue.pending() == 1


async def test_enqueue_returns_when_the_handler_ends_without_beginning(
    queue: MemoryQueue,
) -> None:
    """A handler that skips the job (it never calls begun) releases enqueue when it returns."""
    skipped: list[str] = []

    async def handler(delivery: Delivery) -> None:
        skipped.append(delivery.message.job_id)

    consumer = queue.peer()
    await consumer.consume("w1", handler, prefetch=1)
    await eventually(lambda: consumer._broker.idle_takers == 1)
    async with asyncio.timeout(5):
        await queue.enqueue(job("a"))
    assert skipped == ["a"]
