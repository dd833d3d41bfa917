"""JobRepository: runs, their atomic start and finish, and their history."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_codecrafter.store import Store
from jupyter_codecrafter.store.records import Job, JobKind, JobStatus, Limits

from . import factories as f
from .conftest import OpenStore

OUTPUTS = [
    {"output_type": "stream", "name": "stdout", "text": "hi\n"},
    {
        "output_type": "display_data",
        "data": {"text/plain": "x", "application/vnd.jupyter.widget-view+json": {"v": 2}},
        "metadata": {},
    },
]


async def test_created_job_reads_back_unchanged(store: Store) -> None:
    """A job reads back exactly as created: limits, outputs, enums and times."""
    job = f.job(
        "u1",
        kind=JobKind.CELL,
        session_id="s1",
        cell_id="c1",
        stdin="in\n",
        limits=Limits(timeout_s=1.5, memory_mb=64, cpus=0.25, pids=8, output_bytes=10, tmpfs_mb=1),
        outputs=OUTPUTS,
        execution_count=3,
    )
    await store.jobs.create(job)
    stored = await store.jobs.get(job.id)
    assert stored == job
    assert stored is not None
    assert isinstance(stored.limits, Limits)
    assert isinstance(stored.status, JobStatus)
    assert isinstance(stored.kind, JobKind)
    assert await store.jobs.get("missing") is None


async def test_update_returns_the_updated_job(store: Store) -> None:
    """Updating a job's fields returns it changed; unknown jobs give None."""
    job = f.job("u1")
    await store.jobs.create(job)
    updated = await store.jobs.update(job.id, {"outputs": OUTPUTS, "execution_count": 7})
    assert updated is not None
    assert (updated.outputs, updated.execution_count) == (OUTPUTS, 7)
    assert await store.jobs.get(job.id) == updated
    assert await store.jobs.update("missing", {"error": "x"}) is None


async def test_start_marks_running_and_counts_attempts(store: Store) -> None:
    """Starting a queued job makes it running on the worker; a redelivery counts again."""
    job = f.job("u1")
    await store.jobs.create(job)
    started = await store.jobs.start(job.id, "worker-a", f.at(1))
    assert started is not None
    assert (started.status, started.worker, started.attempts) == ("running", "worker-a", 1)
    assert started.started_at == f.at(1)
    again = await store.jobs.start(job.id, "worker-b", f.at(2))
    assert again is not None
    assert (again.worker, again.attempts) == ("worker-b", 2)
    assert await store.jobs.start("missing", "worker-a", f.at(1)) is None


async def test_finished_job_is_never_started_or_finished_again(store: Store) -> None:
    """Once final, a job keeps its result: start and finish both answer None."""
    job = f.job("u1")
    await store.jobs.create(job)
    await store.jobs.start(job.id, "w", f.at(1))
    done = await store.jobs.finish(
        job.id, JobStatus.SUCCEEDED, {"finished_at": f.at(2), "outputs": OUTPUTS}
    )
    assert done is not None
    assert done.status is JobStatus.SUCCEEDED
    assert done.outputs == OUTPUTS
    assert done.finished_at == f.at(2)
    assert await store.jobs.start(job.id, "w", f.at(3)) is None
    assert await store.jobs.finish(job.id, JobStatus.CANCELLED, {"error": "late"}) is None
    assert await store.jobs.get(job.id) == done


async def test_a_queued_job_can_be_finished_directly(store: Store) -> None:
    """A queued job can be cancelled without ever starting."""
    job = f.job("u1")
    await store.jobs.create(job)
    cancelled = await store.jobs.finish(job.id, JobStatus.CANCELLED, {})
    assert cancelled is not None
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.attempts == 0


async def test_finish_requires_a_final_status(store: Store) -> None:
    """Finishing with a status that is not final is a programming error."""
    job = f.job("u1")
    await store.jobs.create(job)
    with pytest.raises(ValueError, match="final"):
        await store.jobs.finish(job.id, JobStatus.RUNNING, {})
    assert await store.jobs.get(job.id) == job


@pytest.mark.parametrize("instances", [1, 2])
async def test_concurrent_finishes_have_one_winner(open_store: OpenStore, instances: int) -> None:
    """When a worker's result and a cancel race (from one or two processes), one wins."""
    stores = [await open_store() for _ in range(instances)]
    job = f.job("u1")
    await stores[0].jobs.create(job)
    statuses = [JobStatus.SUCCEEDED, JobStatus.CANCELLED] * 5
    results = await asyncio.gather(
        *(
            stores[i % instances].jobs.finish(job.id, status, {"error": str(i)})
            for i, status in enumerate(statuses)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await stores[0].jobs.get(job.id) == winners[0]


def newest_first(jobs: list[Job]) -> list[Job]:
    return sorted(jobs, key=lambda j: (j.queued_at, j.id), reverse=True)


async def test_list_pages_newest_first_with_filters(store: Store) -> None:
    """A session's or user's jobs page newest first, ties included, each once."""
    times = [0, 1, 1, 1, 2, 3, 3]
    jobs = [f.job("u1", session_id="s1", queued_at=f.at(t)) for t in times]
    others = [f.job("u2", session_id="s2", queued_at=f.at(1)), f.job("u1", queued_at=f.at(9))]
    for job in jobs + others:
        await store.jobs.create(job)
    pages, before = [], None
    while page := await store.jobs.list(session_id="s1", limit=2, before=before):
        pages.append(page)
        before = (page[-1].queued_at, page[-1].id)
    assert [job for page in pages for job in page] == newest_first(jobs)
    assert await store.jobs.list(user_id="u1", limit=100) == newest_first([*jobs, others[1]])
    assert await store.jobs.list(user_id="u2", session_id="s1") == []
    assert len(await store.jobs.list(limit=3)) == 3
    assert await store.jobs.list(limit=0) == []


async def test_delete_for_session_counts_deleted_jobs(store: Store) -> None:
    """Deleting a session's jobs removes exactly those and says how many."""
    mine = [f.job("u1", session_id="s1") for _ in range(3)]
    other = f.job("u1", session_id="s2")
    for job in [*mine, other]:
        await store.jobs.create(job)
    assert await store.jobs.delete_for_session("s1") == 3
    assert await store.jobs.list(session_id="s1") == []
    assert await store.jobs.get(other.id) == other
