"""No job waits for ever on a worker that vanished: the run it was in, out of deliveries, is
finalised with a clear status, and another worker's reaper hands back the jobs queued for
it at once (not after worker_queue_ttl_s). Real codecrafter-worker processes, RabbitMQ and
Redis; jobs queued as a server would."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aio_pika
import pytest

from jupyter_codecrafter.execution.queue._amqp_topology import Topology
from jupyter_codecrafter.execution.queue._options import QueueOptions
from jupyter_codecrafter.execution.queue.amqp import AmqpQueue
from jupyter_codecrafter.execution.queue.base import JobMessage
from jupyter_codecrafter.store.base import Store, create_store
from jupyter_codecrafter.store.records import Job, JobKind, JobStatus
from jupyter_codecrafter.utils import new_id, utcnow
from tests.execution.queue_support import delete_amqp_names
from tests.server import running, start_worker


@pytest.fixture
def env(tmp_path: Path, amqp_url: str, redis_clean: str, namespace: str) -> dict[str, str]:
    return {
        "CODECRAFTER_BROKER_URL": amqp_url,
        "CODECRAFTER_REDIS_URL": redis_clean,
        "CODECRAFTER_STORE_URL": f"sqlite:///{tmp_path}/shared.db",
        "CODECRAFTER_NAMESPACE": namespace,
        "CODECRAFTER_WORKER_HEARTBEAT_TTL_S": "2",  # a killed worker is gone within seconds
        "CODECRAFTER_WORKER_QUEUE_TTL_S": "600",  # far longer than the test may wait
        "CODECRAFTER_JOB_DELIVERY_LIMIT": "1",
        "CODECRAFTER_WARM_KERNELS": "0",
    }


@pytest.fixture
async def backends(
    tmp_path: Path, env: dict[str, str], amqp_url: str, namespace: str
) -> AsyncIterator[tuple[Store, AmqpQueue]]:
    store = create_store(env["CODECRAFTER_STORE_URL"])
    await store.open()
    queue = AmqpQueue(amqp_url, QueueOptions(namespace=namespace, delivery_limit=1))
    await queue.start()
    yield store, queue
    await queue.close()
    await store.close()
    await delete_amqp_names(amqp_url, namespace, set())


async def queue_cell(store: Store, queue: AmqpQueue, code: str, owner: str) -> str:
    """A cell run of session s1, queued for the worker that owns its kernel."""
    job = Job(new_id(), JobKind.CELL, "u1", "python", code, utcnow(), session_id="s1")
    await store.jobs.create(job)
    message = JobMessage(job.id, "cell", "s1", routed_to=owner, unconfined_ok=True)
    await queue.enqueue(message, worker_id=owner)
    return job.id


async def until_consumers_gone(amqp_url: str, namespace: str, worker_id: str) -> None:
    """Until RabbitMQ has closed a killed worker's consumer: a job published to its queue
    before that may be handed to the dying connection, which counts as a delivery."""
    name = Topology(QueueOptions(namespace=namespace)).worker_queue(worker_id)
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel()
        async with asyncio.timeout(30):
            while True:
                queue = await channel.declare_queue(name, passive=True)
                if not queue.declaration_result.consumer_count:
                    return
                await asyncio.sleep(0.05)
    finally:
        await connection.close()


async def until_status(store: Store, job_id: str, status: JobStatus | None = None) -> Job:
    """The job once it has ``status`` (None: any final status)."""
    async with asyncio.timeout(60):
        while True:
            job = await store.jobs.get(job_id)
            if job is not None and (job.status is status or (not status and job.status.is_final)):
                return job
            await asyncio.sleep(0.05)


@pytest.mark.timeout(120)
async def test_a_vanished_workers_jobs_are_finalised_or_handed_back(
    tmp_path: Path,
    env: dict[str, str],
    backends: tuple[Store, AmqpQueue],
    amqp_url: str,
    namespace: str,
) -> None:
    """A worker killed mid-run: that run, delivered its limit, ends internal_error; a run
    queued for it once it was gone completes on the next worker within seconds."""
    store, queue = backends
    doomed = start_worker(tmp_path / "w1", env)
    with running(doomed):
        owner = doomed.worker_id()
        running_id = await queue_cell(store, queue, "import time\ntime.sleep(30)", owner)
        await until_status(store, running_id, JobStatus.RUNNING)
        doomed.kill()
    await until_consumers_gone(amqp_url, namespace, owner)
    # A server still routes to the owner it read a moment ago.
    waiting_id = await queue_cell(store, queue, "print('next')", owner)
    survivor = start_worker(tmp_path / "w2", env)
    with running(survivor):
        abandoned = await until_status(store, running_id)
        waited = await until_status(store, waiting_id, JobStatus.SUCCEEDED)
    assert abandoned.status is JobStatus.INTERNAL_ERROR
    assert abandoned.error is not None and "abandoned" in abandoned.error
    assert waited.worker == survivor.worker_id() and waited.attempts == 1
    assert waited.outputs == [{"output_type": "stream", "name": "stdout", "text": "next\n"}]
