"""The job queue contract, kept by MemoryQueue and AmqpQueue alike."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from jupyter_codecrafter.config import CodeCrafterSettings
from jupyter_codecrafter.errors import QueueError, QueueFull
from jupyter_codecrafter.execution.queue._options import QueueOptions
from jupyter_codecrafter.execution.queue.base import EventDelivery, JobMessage, JobQueue, one_by_one
from tests.waiting import eventually

from .queue_support import QueueFactory, Recorder, job


async def _sentinel_arrives(
    queue: JobQueue, recorder: Recorder, worker_id: str | None = None
) -> None:
    """Enqueue a last job and wait for it: everything delivered before it has arrived."""
    sentinel = job("sentinel")
    await queue.enqueue(sentinel, worker_id=worker_id)
    await eventually(lambda: "sentinel" in recorder.job_ids)


async def test_jobs_are_delivered_once_and_acknowledged(make_queue: QueueFactory) -> None:
    """Each enqueued job reaches the handler once, as a first delivery, and is not redelivered."""
    queue = make_queue()
    recorder = Recorder()
    jobs = [job() for _ in range(5)]
    for message in jobs:
        await queue.enqueue(message)

    await queue.consume("w1", recorder, prefetch=2)
    await eventually(lambda: len(recorder.deliveries) == 5)
    await queue.stop_consuming()
    later = make_queue()
    second = Recorder()
    await later.consume("w2", second, prefetch=2)

    await _sentinel_arrives(later, second)
    assert sorted(recorder.deliveries) == sorted((m.job_id, 1) for m in jobs)
    assert second.job_ids == ["sentinel"]
    assert await later.pending() == 0


async def test_pending_counts_waiting_jobs(make_queue: QueueFactory) -> None:
    """pending() reports the jobs waiting in the shared queue."""
    queue = make_queue()
    assert await queue.pending() == 0
    for _ in range(3):
        await queue.enqueue(job())

    counts: list[int] = []

    async def poll() -> None:
        while not counts or counts[-1] != 3:
            counts.append(await queue.pending())

    await asyncio.wait_for(poll(), 15)


async def test_prefetch_bounds_concurrent_handlers(make_queue: QueueFactory) -> None:
    """A worker runs at most ``prefetch`` jobs at once, across its own and the shared queue."""
    queue = make_queue()
    await queue.consume("w1", Recorder(), prefetch=1)  # declares w1's own queue
    await queue.stop_consuming()
    for index in range(8):
        await queue.enqueue(job(), worker_id="w1" if index % 2 else None)
    recorder = Recorder(hold=True)

    await queue.consume("w1", recorder, prefetch=3)
    await eventually(lambda: recorder.running == 3)
    recorder.release.set()
    await eventually(lambda: len(recorder.deliveries) == 8)

    assert recorder.max_running == 3


async def test_failing_handler_gets_redeliveries_then_dead_letters(
    make_queue: QueueFactory,
) -> None:
    """A job whose handler keeps raising is delivered delivery_limit times, then dead-lettered."""
    queue = make_queue(delivery_limit=3)
    dead: list[JobMessage] = []

    async def on_dead(message: JobMessage) -> None:
        dead.append(message)

    await queue.consume_dead_letters(on_dead)
    recorder = Recorder(fail=True)
    await queue.consume("w1", recorder, prefetch=1)
    poison = job("poison")

    await queue.enqueue(poison)
    await eventually(lambda: len(dead) == 1)

    assert dead == [poison]
    assert recorder.deliveries == [("poison", 1), ("poison", 2), ("poison", 3)]


async def test_failing_job_for_a_worker_counts_all_its_deliveries(
    make_queue: QueueFactory,
) -> None:
    """A failing job routed to a worker is still dead-lettered after delivery_limit deliveries."""
    queue = make_queue(delivery_limit=2)
    dead: list[JobMessage] = []

    async def on_dead(message: JobMessage) -> None:
        dead.append(message)

    await queue.consume_dead_letters(on_dead)
    recorder = Recorder(fail=True)
    await queue.consume("w1", recorder, prefetch=1)

    await queue.enqueue(job("poison"), worker_id="w1")
    await eventually(lambda: len(dead) == 1)

    assert recorder.deliveries == [("poison", 1), ("poison", 2)]


async def test_failing_dead_letter_handler_is_retried(make_queue: QueueFactory) -> None:
    """A dead letter whose handler fails (say, the store is down) is handed over again."""
    queue = make_queue(delivery_limit=1)
    attempts: list[str] = []

    async def flaky(message: JobMessage) -> None:
        attempts.append(message.job_id)
        if len(attempts) == 1:
            raise RuntimeError("store down")

    await queue.consume_dead_letters(flaky)
    await queue.consume("w1", Recorder(fail=True), prefetch=1)
    await queue.enqueue(job("poison"))

    await eventually(lambda: len(attempts) == 2)
    assert attempts == ["poison", "poison"]


async def test_full_queue_refuses_jobs_without_losing_accepted_ones(
    make_queue: QueueFactory,
) -> None:
    """Past max_length enqueue raises QueueFull; accepted jobs are all delivered, refused never."""
    queue = make_queue(max_length=3)
    accepted: list[str] = []
    refused: list[str] = []
    for index in range(6):
        message = job(f"job-{index}")
        try:
            await queue.enqueue(message)
        except QueueFull:
            refused.append(message.job_id)
        else:
            accepted.append(message.job_id)

    # RabbitMQ's quorum queues apply the limit once it is exceeded, so they take one more.
    assert len(accepted) in (3, 4)
    assert refused == [f"job-{i}" for i in range(len(accepted), 6)]
    recorder = Recorder()
    await queue.consume("w1", recorder, prefetch=10)
    await eventually(lambda: len(recorder.deliveries) == len(accepted))
    await _sentinel_arrives(queue, recorder)
    assert recorder.job_ids == [*accepted, "sentinel"]


async def test_job_for_a_worker_reaches_that_worker(make_queue: QueueFactory) -> None:
    """Jobs enqueued to a worker go to that worker, not to the others."""
    owner_queue, other_queue = make_queue(), make_queue()
    owner, other = Recorder(), Recorder()
    await owner_queue.consume("owner", owner, prefetch=4)
    await other_queue.consume("other", other, prefetch=4)

    for index in range(6):
        await other_queue.enqueue(job(f"cell-{index}"), worker_id="owner")
    await eventually(lambda: len(owner.deliveries) == 6)

    assert sorted(owner.job_ids) == [f"cell-{i}" for i in range(6)]
    assert other.deliveries == []


async def test_job_for_an_unknown_worker_goes_to_any_worker(make_queue: QueueFactory) -> None:
    """A job for a worker that has no queue is delivered from the shared queue at once."""
    queue = make_queue()
    recorder = Recorder()
    await queue.consume("w1", recorder, prefetch=1)

    await queue.enqueue(job("orphan"), worker_id="never-existed")

    await eventually(lambda: recorder.job_ids == ["orphan"])


async def test_job_for_a_stopped_worker_moves_to_another_after_ttl(
    make_queue: QueueFactory,
) -> None:
    """A job waiting for a worker that stopped consuming reaches another worker after the TTL."""
    options = {"worker_queue_ttl_s": 0.5}
    gone_queue, live_queue = make_queue(**options), make_queue(**options)
    gone = Recorder()
    await gone_queue.consume("gone", gone, prefetch=1)
    await gone_queue.stop_consuming()
    live = Recorder()
    await live_queue.consume("live", live, prefetch=1)

    await live_queue.enqueue(job("stranded"), worker_id="gone")

    await eventually(lambda: live.job_ids == ["stranded"])
    assert gone.deliveries == []


async def test_stop_consuming_lets_the_handler_in_flight_finish(make_queue: QueueFactory) -> None:
    """After stop_consuming a running handler finishes and its job is acked, not redelivered."""
    stopping_queue, next_queue = make_queue(), make_queue()
    running = Recorder(hold=True)
    await stopping_queue.consume("stopping", running, prefetch=2)
    await stopping_queue.enqueue(job("in-flight"))
    await eventually(lambda: running.running == 1)

    await stopping_queue.stop_consuming()
    await stopping_queue.enqueue(job("after-stop"))
    running.release.set()
    await eventually(lambda: running.running == 0)
    successor = Recorder()
    await next_queue.consume("next", successor, prefetch=2)

    await _sentinel_arrives(next_queue, successor)
    assert running.job_ids == ["in-flight"]
    assert successor.job_ids == ["after-stop", "sentinel"]


async def test_close_hands_unfinished_jobs_to_another_worker(make_queue: QueueFactory) -> None:
    """A handler still running when close() gives up loses its job to another worker."""
    closing_queue = make_queue(close_timeout_s=0.2)
    successor_queue = make_queue(close_timeout_s=0.2)
    stuck = Recorder(hold=True)
    await closing_queue.consume("closing", stuck, prefetch=1)
    await closing_queue.enqueue(job("unfinished"))
    await eventually(lambda: stuck.running == 1)

    await closing_queue.close()
    successor = Recorder()
    await successor_queue.consume("successor", successor, prefetch=1)

    await eventually(lambda: successor.deliveries == [("unfinished", 2)])


async def test_closed_queue_refuses_work(make_queue: QueueFactory) -> None:
    """After close(), enqueue and publish_event raise QueueError."""
    queue = make_queue()
    await queue.start()
    await queue.close()

    with pytest.raises(QueueError):
        await queue.enqueue(job())
    with pytest.raises(QueueError):
        await queue.publish_event("anyone", b"event")


async def test_events_reach_only_their_instance_in_order(make_queue: QueueFactory) -> None:
    """Events go to the instance they are addressed to, in publishing order."""
    server_a, server_b, worker = make_queue(), make_queue(), make_queue()
    received: dict[str, list[bytes]] = {"a": [], "b": []}

    def collector(name: str) -> Any:
        async def collect(event: EventDelivery) -> None:
            received[name].append(event.body)

        return collect

    await server_a.consume_events("a", one_by_one(collector("a")))
    await server_b.consume_events("b", one_by_one(collector("b")))
    for index in range(50):
        await worker.publish_event("a", f"a-{index}".encode())
        await worker.publish_event("b", f"b-{index}".encode())
    await worker.publish_event("nobody", b"lost")  # an instance that is gone: dropped

    await eventually(lambda: len(received["a"]) == 50 and len(received["b"]) == 50)
    assert received["a"] == [f"a-{i}".encode() for i in range(50)]
    assert received["b"] == [f"b-{i}".encode() for i in range(50)]


async def test_events_waiting_are_handed_over_together_in_order(
    make_queue: QueueFactory,
) -> None:
    """Events that arrive while the handler is busy reach it next as one batch, in order."""
    server, worker = make_queue(), make_queue()
    batches: list[list[bytes]] = []
    busy = asyncio.Event()

    async def slow(batch: Sequence[EventDelivery]) -> None:
        batches.append([delivery.body for delivery in batch])
        await busy.wait()

    await server.consume_events("a", slow)
    await worker.publish_event("a", b"0")
    await eventually(lambda: batches == [[b"0"]])
    for index in range(1, 6):
        await worker.publish_event("a", str(index).encode())
    await asyncio.sleep(0.5)  # RabbitMQ's deliveries reach the consumer meanwhile
    busy.set()

    await eventually(lambda: len(batches) == 2)
    assert batches == [[b"0"], [b"1", b"2", b"3", b"4", b"5"]]


async def test_failing_event_handler_gets_the_event_again(make_queue: QueueFactory) -> None:
    """An event handler that raises (the store is down) gets the same event again, and the
    events after it only then: none is skipped or reordered."""
    queue = make_queue()
    seen: list[bytes] = []

    async def fragile(event: EventDelivery) -> None:
        seen.append(event.body)
        if seen.count(b"first") == 1:
            raise RuntimeError("the store is down")

    await queue.consume_events("a", one_by_one(fragile))
    for event in (b"first", b"second"):
        await queue.publish_event("a", event)

    await eventually(lambda: len(seen) == 3)
    assert seen == [b"first", b"first", b"second"]


async def test_ping_answers(make_queue: QueueFactory) -> None:
    """ping() returns while the queue is up."""
    queue = make_queue()
    await queue.start()
    await queue.ping()


def test_options_are_checked() -> None:
    """Nonsensical options are refused when they are made, before any queue uses them."""
    with pytest.raises(ValueError, match="delivery_limit"):
        QueueOptions(delivery_limit=0)
    with pytest.raises(ValueError, match="max_length"):
        QueueOptions(max_length=0)
    with pytest.raises(ValueError, match="worker_queue_ttl_s"):
        QueueOptions(worker_queue_ttl_s=0)


def test_options_come_whole_from_the_settings() -> None:
    """The queue's options are the settings' values, defaults included: one source."""
    settings = CodeCrafterSettings(namespace="n.")
    assert QueueOptions.from_settings(settings) == QueueOptions(namespace="n.")
    assert QueueOptions().worker_queue_ttl_s == settings.worker_queue_ttl_s
