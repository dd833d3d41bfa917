"""RabbitMQ or Redis restarted under load: the server and the worker reconnect by
themselves, every run accepted with 202 finishes, and every run refused meanwhile got a 503
with Retry-After. A broker and a Redis of the test's own (restarting the shared ones would
harm other suites), a server and a codecrafter-worker process, the process sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.client import Account, Api
from tests.e2e.conftest import backends_env
from tests.private_services import RabbitServer, RedisServer
from tests.server import JupyterServer, WorkerProcess, running, start_server, start_worker

# Long enough that runs are in flight when the backend goes.
RUN = "import time\ntime.sleep(0.3)\nprint({n})"


@dataclass
class Load:
    """Runs submitted one after another, each either accepted or refused."""

    api: Api
    account: Account
    session_id: str
    accepted: dict[int, str] = field(default_factory=dict)  # run number -> job id
    refused: list[httpx.Response] = field(default_factory=list)

    async def submit(self, *, cell: bool) -> bool:
        """Submit run number ``len(accepted) + len(refused)``; whether it was accepted."""
        n = len(self.accepted) + len(self.refused)
        code = RUN.format(n=n)
        path, body = "/execute/snippet", {"language": "python", "code": code}
        if cell:
            path, body = (
                "/execute",
                {"session_id": self.session_id, "cell_id": f"c{n}", "code": code},
            )
        response = await self.api.http.post(path, json=body, headers=self.account.headers)
        assert response.status_code in (202, 503), response.text
        if response.status_code == 202:
            self.accepted[n] = response.json()["job"]["id"]
            return True
        self.refused.append(response)
        return False

    async def accepted_after(self, count: int, timeout_s: float = 60.0) -> None:
        """Keep submitting (cells and snippets in turn) until ``count`` more are accepted."""
        deadline, wanted = time.monotonic() + timeout_s, len(self.accepted) + count
        while len(self.accepted) < wanted:
            if not await self.submit(cell=len(self.accepted) % 2 == 0):
                assert time.monotonic() < deadline, "runs were still refused"
                await asyncio.sleep(0.2)  # the backend is still coming back

    async def check_all_finished(self) -> None:
        for n, job_id in self.accepted.items():
            done = await self.api.wait_job(self.account, job_id)
            assert done["status"] == "succeeded", done
            assert done["outputs"] == [
                {"output_type": "stream", "name": "stdout", "text": f"{n}\n"}
            ]
        for response in self.refused:
            assert int(response.headers["Retry-After"]) > 0
            # The broker, the bus, or the rate limiter's counters in Redis.
            assert response.json()["error"]["code"] in ("queue_error", "bus_error", "backend_error")


@pytest.fixture
def deployment(
    tmp_path: Path, env: dict[str, str]
) -> Iterator[tuple[JupyterServer, WorkerProcess]]:
    server = start_server(tmp_path / "server", env)
    worker = start_worker(tmp_path / "worker", env)
    with running(server, worker):
        yield server, worker


async def loaded(server: JupyterServer) -> Load:
    api = Api(server.api)
    account = await api.register()
    session = await api.create_session(account)
    return Load(api, account, session["id"])


class TestRabbitMQRestart:
    @pytest.fixture
    def env(
        self, tmp_path: Path, private_rabbitmq: RabbitServer, redis_clean: str, namespace: str
    ) -> dict[str, str]:
        return backends_env(tmp_path, private_rabbitmq.url, redis_clean, namespace)

    @pytest.mark.timeout(240)
    async def test_runs_accepted_around_a_broker_restart_all_finish(
        self, private_rabbitmq: RabbitServer, deployment: tuple[JupyterServer, WorkerProcess]
    ) -> None:
        """Runs in flight when RabbitMQ stops, and runs accepted once it is back, all end
        succeeded; every run submitted while it was down was refused with 503 and
        Retry-After."""
        load = await loaded(deployment[0])
        await load.accepted_after(6)
        await asyncio.to_thread(private_rabbitmq.stop_app)
        for _ in range(4):
            assert not await load.submit(cell=False)
        await asyncio.to_thread(private_rabbitmq.start_app)
        await load.accepted_after(6)
        await load.check_all_finished()
        await load.api.aclose()
        assert len(load.refused) >= 4


class TestRedisRestart:
    @pytest.fixture
    def env(
        self, tmp_path: Path, amqp_url: str, private_redis: RedisServer, namespace: str
    ) -> dict[str, str]:
        return backends_env(tmp_path, amqp_url, private_redis.url, namespace)

    @pytest.mark.timeout(240)
    async def test_runs_accepted_around_a_redis_restart_all_finish(
        self, private_redis: RedisServer, deployment: tuple[JupyterServer, WorkerProcess]
    ) -> None:
        """Redis killed and started again empty: runs accepted before, during and after all
        end succeeded; those refused while it was down got 503 and Retry-After."""
        load = await loaded(deployment[0])
        await load.accepted_after(6)
        await asyncio.to_thread(private_redis.stop)
        for n in range(4):
            await load.submit(cell=n % 2 == 0)
        await asyncio.to_thread(private_redis.start)
        await load.accepted_after(6)
        await load.check_all_finished()
        await load.api.aclose()
