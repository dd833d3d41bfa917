"""What an operator sees of a scaled deployment: readiness with latencies on the server and
the worker, Prometheus metrics on both (labels there before the first event), and JSON logs
that follow one request into the worker and back without a secret or a line of code."""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.auth_helpers import jupyter_token
from tests.client import Api
from tests.ops.deployments import sample, scaled_env, scrape, wait_ready
from tests.server import JupyterServer, WorkerProcess, running, start_server, start_worker
from tests.yclient import YClient

CODE_MARKER = "unlikely_name_7341"


@dataclass
class Scaled:
    server: JupyterServer
    worker: WorkerProcess
    env: dict[str, str]


@pytest.fixture(scope="module")
def scaled(
    tmp_path_factory: pytest.TempPathFactory, amqp_url: str, redis_url: str, mongo_server_url: str
) -> Iterator[Scaled]:
    env = scaled_env(amqp_url, redis_url, mongo_server_url)
    workdir = tmp_path_factory.mktemp("observability")
    server = start_server(workdir / "server", env)
    worker = start_worker(workdir / "worker", env)
    with running(server, worker):
        wait_ready(f"{server.api}/health")
        yield Scaled(server, worker, env)


def test_health_gives_each_backend_and_the_workers_with_latency(scaled: Scaled) -> None:
    """The server and the worker answer 200 with store, broker, pubsub and workers, each
    'ok' with a latency in milliseconds; the server counts the live worker."""
    server = httpx.get(f"{scaled.server.api}/health").json()
    worker = wait_ready(f"{scaled.worker.metrics_url}/health")
    for body in (server, worker):
        assert body["status"] == "ok" and body["ready"] is True
        assert set(body["checks"]) == {"store", "broker", "pubsub", "workers"}
        for check in body["checks"].values():
            assert check["status"] == "ok" and check["latency_ms"] >= 0
    assert server["checks"]["workers"]["live"] >= 1


def test_a_server_without_a_live_worker_is_not_ready(
    scaled: Scaled, tmp_path: Path, amqp_url: str, redis_url: str, mongo_server_url: str
) -> None:
    """With its backends up but no worker, health is 503 and names the workers check."""
    server = start_server(tmp_path, scaled_env(amqp_url, redis_url, mongo_server_url))
    with running(server):
        response = httpx.get(f"{server.api}/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded" and body["ready"] is False
    assert body["checks"]["workers"]["status"] == "error"
    assert body["checks"]["workers"]["live"] == 0
    assert {body["checks"][n]["status"] for n in ("store", "broker", "pubsub")} == {"ok"}


async def test_metrics_are_there_before_the_first_run_and_count_it(
    scaled: Scaled, promtool: str
) -> None:
    """Every run status is a series at 0 before any run; after a cell runs, the worker
    counts it with its queue wait and run time, the server counts the request, a room
    connection and its updates; promtool finds nothing to fault in either scrape."""
    async with httpx.AsyncClient() as http:
        worker_before = (await http.get(f"{scaled.worker.metrics_url}/metrics")).text
    assert sample(worker_before, "codecrafter_runs_total", status="timed_out") == 0
    assert sample(worker_before, "codecrafter_runs_total", status="succeeded") == 0
    token = jupyter_token(scaled.server)
    before = await asyncio.to_thread(scrape, scaled.server, token)
    assert sample(before, "codecrafter_sign_ins_total", result="failed") == 0
    async with Api(scaled.server.api) as api:
        account = await api.register()
        session = await api.create_session(account)
        url = scaled.server.room_url(session["id"], account.access_token)
        async with YClient.connect(url) as client:
            client.notebook.append_cell({"cell_type": "code", "id": "c1", "source": "1"})
            job = await api.run_cell(account, session["id"], "c1", "print(6 * 7)")
            assert (await api.wait_job(account, job["id"]))["status"] == "succeeded"
            server_text = await asyncio.to_thread(scrape, scaled.server, token)
    worker_text = await _scrape_until(scaled.worker, "codecrafter_runs_total", status="succeeded")
    assert sample(worker_text, "codecrafter_run_queue_wait_seconds_count", language="python") == 1
    assert sample(worker_text, "codecrafter_run_duration_seconds_count", language="python") == 1
    assert (
        sample(server_text, "codecrafter_api_requests_total", route="/execute", status="2xx") == 1
    )
    assert sample(server_text, "codecrafter_websocket_connections") == 1
    assert sample(server_text, "codecrafter_rooms_loaded") == 1
    assert (
        sample(server_text, "codecrafter_room_updates_applied_total", origin="client") or 0
    ) >= 1
    for text in (server_text, worker_text):
        lint = await asyncio.to_thread(check_metrics, promtool, text)
        assert lint.returncode == 0, lint.stdout + lint.stderr


def check_metrics(promtool: str, text: str) -> subprocess.CompletedProcess[str]:
    """``promtool check metrics`` on one scrape's ``codecrafter_*`` families (Jupyter
    Server's own, in the same scrape, are not ours to lint)."""
    ours = [line for line in text.splitlines() if _family(line).startswith("codecrafter_")]
    assert len(ours) > 100
    command = [promtool, "check", "metrics"]
    return subprocess.run(
        command,
        input="\n".join(ours) + "\n",
        text=True,
        capture_output=True,
        timeout=30,
        check=False,
    )


def _family(line: str) -> str:
    words = line.split()
    return words[2] if line.startswith("#") and len(words) > 2 else line


async def _scrape_until(worker: WorkerProcess, name: str, **labels: str) -> str:
    """The worker's metrics once ``name{labels}`` is at least 1 (bounded wait)."""
    async with httpx.AsyncClient() as http:
        for _ in range(50):
            text = (await http.get(f"{worker.metrics_url}/metrics")).text
            if (sample(text, name, **labels) or 0) >= 1:
                return text
            await asyncio.sleep(0.1)
    raise AssertionError(f"{name}{labels} never counted:\n{text}")


async def test_a_request_id_follows_a_run_and_no_secret_is_logged(scaled: Scaled) -> None:
    """The X-Request-Id of POST /execute comes back in the answer and appears in the JSON
    log lines of the worker that ran the job and of the server that wrote its result; no
    log line at info holds the password, a token or the code."""
    request_id = f"trace-{uuid.uuid4().hex[:12]}"
    async with Api(scaled.server.api) as api:
        account = await api.register(password="a secret passphrase")
        session = await api.create_session(account)
        response = await api.http.post(
            "/execute",
            headers={**account.headers, "X-Request-Id": request_id},
            json={"session_id": session["id"], "cell_id": "c1", "code": f"{CODE_MARKER} = 1"},
        )
        assert response.status_code == 202 and response.headers["x-request-id"] == request_id
        await api.wait_job(account, response.json()["job"]["id"])
        await api.http.get(f"/sessions/{session['id']}?token={account.access_token}")
    await asyncio.sleep(0.5)  # the server logs the finished event as it applies it
    secrets = [account.password, account.access_token, account.refresh_token, CODE_MARKER]
    for process in (scaled.server, scaled.worker):
        lines = json_lines(process.log_path)
        assert any(line.get("request_id") == request_id for line in lines), process.log_path
        text = process.log_path.read_text()
        assert not [s for s in secrets if s in text], process.log_path


def json_lines(path: Path) -> list[dict[str, object]]:
    """The log's JSON lines (Jupyter's start-up banner aside, every line is one)."""
    found = []
    for line in path.read_text().splitlines():
        if line.startswith("{"):
            found.append(json.loads(line))
    return found
