"""Faults in a scaled deployment lose nothing that was acknowledged: a worker stopped with
SIGTERM finishes the runs it started and hands the rest back; a worker killed mid-run has
its run redone elsewhere and its sandboxes removed. Real RabbitMQ, Redis, Docker and
codecrafter-worker processes."""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.client import Account, Api
from tests.e2e.conftest import scaled_env
from tests.server import JupyterServer, WorkerProcess, running, start_server, start_worker

SLOW_CELL = "import time\ntime.sleep(4)\nprint('done')"


@pytest.fixture
def env(
    tmp_path: Path, amqp_url: str, redis_clean: str, sandbox_image: str, namespace: str
) -> dict[str, str]:
    settings = scaled_env(
        amqp_url=amqp_url,
        redis_url=redis_clean,
        store_url=f"sqlite:///{tmp_path}/shared.db",
        image=sandbox_image,
        namespace=namespace,
    )
    # Short heartbeats so a killed worker is known dead within seconds.
    settings["CODECRAFTER_WORKER_HEARTBEAT_TTL_S"] = "3"
    return settings


@pytest.fixture
def server(tmp_path: Path, env: dict[str, str]) -> Iterator[JupyterServer]:
    server = start_server(tmp_path / "server", env)
    with running(server):
        yield server


def sandboxes_of(worker: WorkerProcess) -> list[str]:
    """Ids of sandbox containers labelled with the worker id this process logged."""
    worker_id = worker.worker_id()
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label=codecrafter.worker={worker_id}"],
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


async def start_slow_run(api: Api) -> tuple[Account, dict[str, Any]]:
    account = await api.register()
    session = await api.create_session(account)
    job = await api.run_cell(account, session["id"], "c1", SLOW_CELL)
    deadline = time.monotonic() + 60
    while (await api.http.get(f"/execute/status/{job['id']}", headers=account.headers)).json()[
        "job"
    ]["status"] != "running":
        assert time.monotonic() < deadline, "the run never started"
        await asyncio.sleep(0.05)
    return account, job


@pytest.mark.timeout(180)
async def test_sigterm_lets_the_run_in_flight_finish(
    tmp_path: Path, env: dict[str, str], server: JupyterServer
) -> None:
    """SIGTERM during a run: the run completes, the worker exits cleanly, no sandbox is left."""
    worker = start_worker(tmp_path / "w1", env)
    api = Api(server.api)
    with running(worker):
        account, job = await start_slow_run(api)
        worker_id = worker.worker_id()
        assert await asyncio.to_thread(worker.stop, 60) == 0
        done = await api.wait_job(account, job["id"])
        assert done["status"] == "succeeded", done
        assert done["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "done\n"}]
        assert done["worker"] == worker_id and done["attempts"] == 1
        assert sandboxes_of(worker) == []
    await api.aclose()


@pytest.mark.timeout(180)
async def test_a_killed_worker_run_is_redone_and_its_sandbox_removed(
    tmp_path: Path, env: dict[str, str], server: JupyterServer
) -> None:
    """SIGKILL mid-run: another worker runs the job again to success and removes the dead
    worker's kernel container."""
    first = start_worker(tmp_path / "w1", env)
    api = Api(server.api)
    with running(first):
        account, job = await start_slow_run(api)
        # "running" is recorded before the kernel starts: kill once its container exists.
        deadline = time.monotonic() + 60
        while not sandboxes_of(first):
            assert time.monotonic() < deadline, "the run's kernel container never appeared"
            await asyncio.sleep(0.1)
        first.kill()
        assert sandboxes_of(first), "the killed worker's kernel container should remain"
        second = start_worker(tmp_path / "w2", env)
        with running(second):
            done = await api.wait_job(account, job["id"])
            assert done["status"] == "succeeded", done
            assert done["worker"] == second.worker_id() and done["attempts"] == 2
            deadline = time.monotonic() + 30
            while sandboxes_of(first):
                assert time.monotonic() < deadline, "the dead worker's sandbox was not removed"
                await asyncio.sleep(0.5)
    await api.aclose()


async def run_snippet(api: Api, account: Account, code: str) -> dict[str, Any]:
    body = {"language": "python", "code": code}
    response = await api.http.post("/execute/snippet", json=body, headers=account.headers)
    assert response.status_code == 202, response.text
    return response.json()["job"]  # type: ignore[no-any-return]


async def until_running(api: Api, account: Account, jobs: list[dict[str, Any]]) -> None:
    """Until one of ``jobs`` runs (bounded)."""
    deadline = time.monotonic() + 60
    while True:
        for job in jobs:
            answer = await api.http.get(f"/execute/status/{job['id']}", headers=account.headers)
            if answer.json()["job"]["status"] == "running":
                return
        assert time.monotonic() < deadline, "no run of the burst ever started"
        await asyncio.sleep(0.05)


@pytest.mark.timeout(240)
async def test_sigterm_mid_burst_finishes_or_hands_back_every_run(
    tmp_path: Path, env: dict[str, str], server: JupyterServer
) -> None:
    """SIGTERM while twelve snippets and three cells for its kernel wait or run: the worker
        finishes the runs it started, hands the others back (the cells at once, not after the
        600 s its queue keeps them), stops its kernel and exits 0 leaving no container; the
        next worker runs the rest. Each run succeeds once, none is run twice, and the cells run
    one after the other in the order they were queued."""
    env = {**env, "CODECRAFTER_WORKER_QUEUE_TTL_S": "600"}
    stopping = start_worker(tmp_path / "w1", {**env, "CODECRAFTER_WORKER_CONCURRENCY": "2"})
    api = Api(server.api)
    with running(stopping):
        account = await api.register()
        session = await api.create_session(account)
        kernel_run = await api.run_cell(account, session["id"], "c0", "print('kernel')")
        assert (await api.wait_job(account, kernel_run["id"]))["status"] == "succeeded"
        codes = [f"import time\ntime.sleep(1)\nprint({n})" for n in range(12)]
        burst = [await run_snippet(api, account, code) for code in codes]
        for n in range(12, 15):  # queued for the worker that owns the session's kernel
            burst.append(await api.run_cell(account, session["id"], f"c{n}", f"print({n})"))
        await until_running(api, account, burst)
        stopping_id = stopping.worker_id()
        assert await asyncio.to_thread(stopping.stop, 90) == 0
        assert sandboxes_of(stopping) == []
    following = start_worker(tmp_path / "w2", env)
    with running(following):
        done = [await api.wait_job(account, job["id"]) for job in burst]
    await api.aclose()
    assert [job["outputs"][0]["text"] for job in done] == [f"{n}\n" for n in range(15)]
    assert {(job["status"], job["attempts"]) for job in done} == {("succeeded", 1)}
    ran_by = [job["worker"] for job in done]
    assert 0 < ran_by.count(stopping_id) < len(done)
    cells = done[12:]
    for before, after in itertools.pairwise(cells):
        assert before["finished_at"] <= after["started_at"], (before, after)
    assert ran_by.count(following.worker_id()) == len(done) - ran_by.count(stopping_id)
