"""A session's kernel channel across two server instances and a separate worker, sharing
RabbitMQ and Redis: clients on either instance reach the kernel on the worker (issue 12)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import nbformat
import pytest
from nbclient import NotebookClient

from tests.api.test_kernel_channel import OPEN_COMM, Pair, paired, text
from tests.e2e.conftest import backends_env
from tests.kernelws import WsKernelManager, kernel_channel_url
from tests.namespaces import new_namespace
from tests.server import JupyterServer, running, start_server, start_worker


@pytest.fixture(scope="module")
def servers(
    tmp_path_factory: pytest.TempPathFactory, amqp_url: str, redis_url: str
) -> Iterator[tuple[JupyterServer, JupyterServer]]:
    """Two server instances and one codecrafter-worker (process sandbox), shared by the
    module's tests (each has sessions of its own): a namespace of their own keeps them
    apart from other tests on the same broker and Redis."""
    tmp_path = tmp_path_factory.mktemp("kernel-channel-scaled")
    env = backends_env(tmp_path, amqp_url, redis_url, new_namespace())
    first = start_server(tmp_path / "server1", env)
    second = start_server(tmp_path / "server2", env)
    worker = start_worker(tmp_path / "worker", env)
    with running(first, second, worker):
        worker.worker_id()
        yield first, second


@pytest.fixture
async def pair(servers: tuple[JupyterServer, JupyterServer]) -> AsyncIterator[Pair]:
    """The writer (owner) on the second instance, the reader on the first."""
    first, second = servers
    async with paired(second, first) as made:
        yield made


async def test_clients_on_two_instances_complete_and_see_comms(pair: Pair) -> None:
    """Both instances' clients get completions and the comm the kernel opens."""
    await pair.run(OPEN_COMM)
    for ws in (pair.writer_ws, pair.reader_ws):
        opened = await ws.wait_for("iopub", lambda m: m["msg_type"] == "comm_open")
        assert opened["content"]["target_name"] == "lesson"
        completed = await ws.request("complete_request", {"code": "sta", "cursor_pos": 3})
        assert "state" in completed["content"]["matches"]


async def test_input_reaches_the_user_on_the_other_instance(pair: Pair) -> None:
    """A cell run through one instance asks its user on the other; the answer gets back."""
    job = await pair.api.run_cell(pair.owner, pair.session_id, "c1", 'print("Hi", input())')
    await pair.writer_ws.wait_for("stdin", lambda m: m["msg_type"] == "input_request")
    await pair.writer_ws.send("stdin", pair.writer_ws.message("input_reply", {"value": "Bo"}))
    done = await pair.api.wait_job(pair.owner, job["id"])
    assert text(done).endswith("Hi Bo\n")


async def test_nbclient_through_the_second_instance(
    pair: Pair, servers: tuple[JupyterServer, JupyterServer]
) -> None:
    """nbclient executes a notebook through one instance while the run's events and the
    kernel's messages cross the broker and Redis."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell("x = 2"), nbformat.v4.new_code_cell("x + 40")]
    url = kernel_channel_url(servers[1].url, pair.session_id, pair.owner.access_token)
    client = NotebookClient(notebook, km=WsKernelManager(url), timeout=60)  # type: ignore[arg-type]
    executed = await client.async_execute()
    assert executed.cells[1].outputs[0]["data"]["text/plain"] == "42"
