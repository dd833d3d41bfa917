"""Runs stay exact when a server instance dies or runs race: the outputs of a run whose
instance was killed still reach the notebook once each, and a new session's first runs keep
their order across two workers. Real server and codecrafter-worker processes, RabbitMQ,
Redis, a shared SQLite store; the process sandbox (faults here are in the queue and the
rooms, not the sandbox)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from jupyter_codecrafter.store.records import SessionKind
from tests.client import Account, Api
from tests.e2e.conftest import backends_env
from tests.notebooks import code_cell
from tests.server import JupyterServer, WorkerProcess, running, start_server, start_worker
from tests.yclient import YClient

LINES = 30
# Prints one line every 0.1 s: about 3 s in all.
PRINTING_CELL = (
    f"import time\nfor i in range({LINES}):\n    print(i, flush=True)\n    time.sleep(0.1)"
)


@pytest.fixture
def env(tmp_path: Path, amqp_url: str, redis_clean: str, namespace: str) -> dict[str, str]:
    return backends_env(tmp_path, amqp_url, redis_clean, namespace)


@pytest.fixture
def servers(tmp_path: Path, env: dict[str, str]) -> Iterator[tuple[JupyterServer, JupyterServer]]:
    first = start_server(tmp_path / "server1", env)
    second = start_server(tmp_path / "server2", env)
    with running(first, second):
        yield first, second


def cell_of(client: YClient, cell_id: str) -> dict[str, Any]:
    found = [c for c in client.notebook.get()["cells"] if c.get("id") == cell_id]
    return found[0] if found else {}


def printed_lines(cell: dict[str, Any]) -> list[str]:
    """Every line the cell shows, in order, across its stream outputs."""
    streams = [o for o in cell.get("outputs", []) if o["output_type"] == "stream"]
    text = "".join(o["text"] for o in streams)
    return text.splitlines()


async def shared_notebook(api: Api) -> tuple[Account, dict[str, Any]]:
    account = await api.register()
    return account, await api.create_session(account, title="Faults")


@pytest.mark.timeout(240)
async def test_outputs_of_a_run_survive_the_instance_that_queued_it(
    tmp_path: Path, env: dict[str, str], servers: tuple[JupyterServer, JupyterServer]
) -> None:
    """The instance that queued a cell printing for 3 s is killed (SIGKILL) mid-run; a
    client on the other instance still sees every line, each exactly once."""
    doomed, survivor = servers
    worker = start_worker(tmp_path / "worker", env)
    async with Api(survivor.api) as api, Api(doomed.api) as doomed_api:
        account, session = await shared_notebook(api)
        room = survivor.room_url(session["id"], account.access_token)
        with running(worker):
            async with YClient.connect(room, kind=SessionKind.NOTEBOOK) as client:
                client.notebook.append_cell(code_cell("c1", PRINTING_CELL))
                await client.flush()
                job = await doomed_api.run_cell(account, session["id"], "c1", PRINTING_CELL)
                await client.wait_for(lambda: len(printed_lines(cell_of(client, "c1"))) >= 5, 60)
                doomed.kill()
                await client.wait_for(lambda: cell_of(client, "c1").get("execution_count"), 60)
                done = await api.wait_job(account, job["id"])
                lines = printed_lines(cell_of(client, "c1"))
    assert done["status"] == "succeeded", done
    assert lines == [str(i) for i in range(LINES)]


async def wait_consuming(*workers: WorkerProcess) -> None:
    for worker in workers:
        await asyncio.to_thread(worker.worker_id)


@pytest.mark.timeout(240)
async def test_a_new_sessions_first_runs_execute_in_submission_order(
    tmp_path: Path, env: dict[str, str], servers: tuple[JupyterServer, JupyterServer]
) -> None:
    """Ten runs submitted at once to a session nobody ran yet, two workers listening: they
    execute in the order the server queued them, execution counts 1 to 10, on one kernel."""
    server, _ = servers
    workers = [start_worker(tmp_path / f"w{n}", env) for n in (1, 2)]
    async with Api(server.api) as api:
        account, session = await shared_notebook(api)
        with running(*workers):
            await wait_consuming(*workers)
            submitted = await asyncio.gather(
                *(api.run_cell(account, session["id"], f"c{n}", f"print({n})") for n in range(10))
            )
            done = [await api.wait_job(account, job["id"]) for job in submitted]
    in_queue_order = sorted(done, key=lambda job: (job["queued_at"], job["id"]))
    assert [job["execution_count"] for job in in_queue_order] == list(range(1, 11))
    assert len({job["worker"] for job in done}) == 1
    assert all(job["status"] == "succeeded" for job in done)
