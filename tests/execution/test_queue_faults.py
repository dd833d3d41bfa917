"""What the queue keeps when workers and server instances go, MemoryQueue and AmqpQueue
alike: no accepted job is dropped, and an instance's events outlive it."""

from __future__ import annotations

import asyncio

from jupyter_codecrafter.execution.queue.base import EventDelivery, one_by_one
from tests.waiting import eventually

from .queue_support import QueueFactory, Recorder, job


async def test_a_job_expiring_into_a_full_queue_still_runs(make_queue: QueueFactory) -> None:
    """A job left in a stopped worker's queue moves on after the TTL even while the shared
    queue is full: it was accepted once, and is never dropped for a new job's limit."""
    options = {"worker_queue_ttl_s": 0.5, "max_length": 2}
    gone_queue, live_queue = make_queue(**options), make_queue(**options)
    await gone_queue.consume("gone", Recorder(), prefetch=1)
    await gone_queue.stop_consuming()
    await live_queue.enqueue(job("stranded"), worker_id="gone")
    for index in range(2):
        await live_queue.enqueue(job(f"waiting-{index}"))
    await asyncio.sleep(1.0)  # the TTL passes while the shared queue is full

    live = Recorder()
    await live_queue.consume("live", live, prefetch=4)
    await eventually(lambda: len(live.deliveries) == 3)
    assert sorted(live.job_ids) == ["stranded", "waiting-0", "waiting-1"]


async def test_jobs_handed_back_reach_another_worker_with_their_deliveries(
    make_queue: QueueFactory,
) -> None:
    """A gone worker's jobs, handed back, reach another worker at once (no TTL wait), the
    one it was running counted as delivered once already."""
    options = {"worker_queue_ttl_s": 600, "close_timeout_s": 0}
    gone_queue, live_queue = make_queue(**options), make_queue(**options)
    stuck = Recorder(hold=True)
    await gone_queue.consume("gone", stuck, prefetch=1)
    for name in ("running", "waiting"):
        await live_queue.enqueue(job(name), worker_id="gone")
    await eventually(lambda: stuck.job_ids == ["running"])
    await gone_queue.close()  # it dies: its job in flight goes back to its queue

    assert await live_queue.hand_back("gone") == 2
    live = Recorder()
    await live_queue.consume("live", live, prefetch=2)
    await eventually(lambda: len(live.deliveries) == 2)
    assert sorted(live.deliveries) == [("running", 2), ("waiting", 1)]


async def test_jobs_not_started_when_a_worker_stops_go_to_another(
    make_queue: QueueFactory,
) -> None:
    """A stopping worker runs only what it had started: a job delivered to it while its
    one slot was busy goes back, and with the jobs queued for it to the next worker."""
    stopping_queue, next_queue = make_queue(), make_queue()
    stopping = Recorder(hold=True)
    await stopping_queue.consume("stopping", stopping, prefetch=1)
    await next_queue.enqueue(job("started"))
    await eventually(lambda: stopping.running == 1)
    await next_queue.enqueue(job("delivered"), worker_id="stopping")
    await asyncio.sleep(0.3)  # RabbitMQ delivers it to the busy worker, which holds it

    await stopping_queue.stop_consuming()
    stopping.release.set()
    await stopping_queue.hand_back("stopping")  # as a stopping worker does last
    successor = Recorder()
    await next_queue.consume("next", successor, prefetch=1)
    await eventually(lambda: successor.job_ids == ["delivered"])
    assert stopping.job_ids == ["started"]


async def test_an_instance_standing_by_takes_over_events_in_order(
    make_queue: QueueFactory,
) -> None:
    """When an instance goes, the one standing by for it gets its events: the one it had
    not acknowledged (marked redelivered), then the rest, in order, on a new tenure."""
    first, second, worker = make_queue(), make_queue(), make_queue()
    seen: dict[str, list[EventDelivery]] = {"first": [], "second": []}
    release = asyncio.Event()

    async def first_handler(event: EventDelivery) -> None:
        seen["first"].append(event)
        await release.wait()  # it dies before finishing this one

    async def second_handler(event: EventDelivery) -> None:
        seen["second"].append(event)

    await first.consume_events("first", one_by_one(first_handler))
    await second.consume_events("second", one_by_one(second_handler))
    await second.stand_by("first")
    for index in range(5):
        await worker.publish_event("first", f"e{index}".encode())
    await eventually(lambda: len(seen["first"]) == 1)
    assert seen["second"] == []

    await first.close()
    await eventually(lambda: len(seen["second"]) == 5)
    assert [event.body for event in seen["second"]] == [f"e{i}".encode() for i in range(5)]
    assert seen["second"][0].redelivered  # (RabbitMQ had sent it the others too)
    assert seen["second"][0].tenure != seen["first"][0].tenure
    assert await second.release("first")
