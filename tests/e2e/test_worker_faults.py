"""Faults in a scaled deployment lose nothing that was acknowledged: a worker stopped with
SIGTERM finishes its runs first; a worker killed mid-run has its run redone elsewhere and
its sandboxes removed. Real RabbitMQ, Redis, Docker and codecrafter-worker processes."""

from __future__ import annotations

import asyncio
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
