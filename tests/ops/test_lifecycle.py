"""Starting and stopping as an operator does: a backend that is not up yet is waited for,
one that never answers stops the process with the reason and a non-zero exit; SIGTERM
during edits and runs loses nothing that was acknowledged."""

from __future__ import annotations

import asyncio
import gc
import shutil
import signal
import subprocess
import time
import weakref
from pathlib import Path

import pytest

from jupyter_codecrafter.lifecycle import freeze_startup_objects
from tests.client import Api
from tests.notebooks import code_cell, ipynb
from tests.server import Process, running, start_server, start_worker
from tests.server import _wait_healthy as wait_healthy
from tests.services import free_port, need
from tests.yclient import YClient

CLOSE_SERVICE_RESTART = 1012  # what a load balancer's clients see: reconnect elsewhere


def exits_within(process: Process, timeout_s: float) -> int:
    return process.proc.wait(timeout=timeout_s)


def test_a_server_whose_broker_never_answers_exits_with_the_reason(tmp_path: Path) -> None:
    """With RabbitMQ configured on a port where nothing listens, the server retries for
    backend_connect_timeout_s, then exits non-zero naming the broker."""
    env = {
        "CODECRAFTER_BROKER_URL": f"amqp://guest:guest@127.0.0.1:{free_port()}/",
        "CODECRAFTER_BACKEND_CONNECT_TIMEOUT_S": "3",
    }
    server = start_server(tmp_path, env, wait=False)
    started = time.monotonic()
    with running(server):
        code = exits_within(server, 60)
    log = server.log_path.read_text()
    assert code != 0
    assert time.monotonic() - started >= 3
    assert (
        "retrying" in log
        and "CodeCrafter cannot start: The broker (broker_url) did not answer" in log
    )


def test_a_worker_whose_redis_never_answers_exits_with_the_reason(tmp_path: Path) -> None:
    """codecrafter-worker retries an unreachable Redis, then exits 1 naming it."""
    env = {
        "CODECRAFTER_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0",
        "CODECRAFTER_BACKEND_CONNECT_TIMEOUT_S": "2",
    }
    worker = start_worker(tmp_path, env)
    with running(worker):
        code = exits_within(worker, 60)
    assert code == 1
    assert "The Redis (redis_url) did not answer" in worker.log_path.read_text()


def test_a_server_waits_for_a_redis_that_comes_up_late(tmp_path: Path) -> None:
    """Redis started once the server has begun retrying it: the server then serves."""
    need("redis-server", lambda: shutil.which("redis-server") or _missing("redis-server"))
    port = free_port()
    env = {
        "CODECRAFTER_REDIS_URL": f"redis://127.0.0.1:{port}/0",
        "CODECRAFTER_BACKEND_CONNECT_TIMEOUT_S": "60",
    }
    server = start_server(tmp_path / "server", env, wait=False)
    with running(server):
        wait_for_line(server, "does not answer yet", timeout_s=60)
        command = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
        redis = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        try:
            wait_healthy(server, 60)
            assert server.proc.poll() is None
        finally:
            server.stop()
            redis.terminate()
            redis.wait(timeout=10)


def wait_for_line(process: Process, text: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in process.log_path.read_text():
        assert process.proc.poll() is None, process.log_tail()
        assert time.monotonic() < deadline, f"no {text!r} in the log:\n{process.log_tail()}"
        time.sleep(0.1)


def _missing(name: str) -> None:
    raise FileNotFoundError(name)


async def test_sigterm_during_edits_and_a_run_loses_nothing(tmp_path: Path) -> None:
    """SIGTERM while a client edits and a cell runs: the client is told to reconnect
    (1012), the run finishes and its output is written, the server exits 0, and after a
    restart the notebook has every edit the server received and the output."""
    server = start_server(tmp_path, {})
    async with Api(server.api) as api:
        account = await api.register()
        session = await api.create_session(account, content=ipynb(code_cell("c1")))
        async with YClient.connect(server.room_url(session["id"], account.access_token)) as client:
            code = "import time\ntime.sleep(1.5)\nprint('finished after SIGTERM')"
            await api.run_cell(account, session["id"], "c1", code)
            for i in range(20):
                client.notebook.append_cell(code_cell(f"e{i}", f"edit {i}"))
            await client.flush()
            await asyncio.sleep(0.3)
            server.proc.send_signal(signal.SIGTERM)
            assert await client.closed(timeout_s=30) == CLOSE_SERVICE_RESTART
        assert await asyncio.to_thread(exits_within, server, 60) == 0
    assert "Waiting for 1 runs in flight" in server.log_path.read_text()
    restarted = start_server(tmp_path, {})
    with running(restarted):
        async with Api(restarted.api) as api:
            content = await fetch_content(api, account.access_token, session["id"])
    cells = {cell["id"]: cell for cell in content["cells"]}
    assert [text(cells[f"e{i}"]["source"]) for i in range(20)] == [f"edit {i}" for i in range(20)]
    assert [text(o.get("text", "")) for o in cells["c1"]["outputs"]] == ["finished after SIGTERM\n"]


def text(value: str | list[str]) -> str:
    """A multiline string as .ipynb files hold it (a string or a list of lines)."""
    return value if isinstance(value, str) else "".join(value)


async def fetch_content(api: Api, token: str, session_id: str) -> dict[str, object]:
    response = await api.http.get(
        f"/sessions/{session_id}/export", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


pytestmark = pytest.mark.timeout(180)


async def test_a_request_in_flight_at_sigterm_is_answered(tmp_path: Path) -> None:
    """A registration still hashing its password (the real argon2 cost) when SIGTERM
    arrives is answered 201 before the server closes its store, and the account exists."""
    real_hashing = {
        "CODECRAFTER_PASSWORD_TIME_COST": "3",
        "CODECRAFTER_PASSWORD_MEMORY_KIB": "65536",
    }
    server = start_server(tmp_path, real_hashing)
    async with Api(server.api) as api:
        await api.http.get("/health")  # a kept-alive connection: the request arrives at once
        pending = asyncio.ensure_future(api.register(username="latecomer"))
        await asyncio.sleep(0.05)  # the request has reached the server; hashing takes longer
        server.proc.send_signal(signal.SIGTERM)
        account = await pending  # asserts 201
    assert await asyncio.to_thread(exits_within, server, 60) == 0
    restarted = start_server(tmp_path, {})
    with running(restarted):
        async with Api(restarted.api) as api:
            response = await api.http.post(
                "/auth/login", json={"login": "latecomer", "password": account.password}
            )
    assert response.status_code == 200


class _Node:
    partner: _Node | None = None


def test_start_up_objects_leave_full_collections_and_its_garbage_is_freed() -> None:
    """After start-up, its live objects are out of the collector's walks; garbage is gone."""
    alive, garbage = _Node(), _Node()
    garbage.partner = garbage  # a cycle: only the collector frees it
    freed = weakref.ref(garbage)
    del garbage
    try:
        freeze_startup_objects()
        assert freed() is None
        assert not any(each is alive for each in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(each is alive for each in gc.get_objects())
