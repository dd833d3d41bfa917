"""docker-compose.yml's topology as processes on loopback, through a real nginx: register,
open a room, run cells; Prometheus scrapes every instance and worker, and every alert and
dashboard query runs; then one server instance gets SIGTERM mid-run and its clients carry
on through nginx on the other, with every output arriving once."""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
import pytest_asyncio

from tests.client import Account, Api
from tests.notebooks import code_cell, ipynb
from tests.ops import dashboard
from tests.ops.deployments import sample, scaled_env, scrape, wait_ready
from tests.ops.test_monitoring_files import alert_expressions
from tests.ops.topology import (
    Topology,
    prometheus_config,
    query,
    shared_token,
    start_nginx,
    start_prometheus,
    wait_targets_up,
)
from tests.server import running, start_server, start_worker
from tests.yclient import YClient

pytestmark = [pytest.mark.timeout(240), pytest.mark.asyncio(loop_scope="module")]
BEHIND_PROXY = ["--ServerApp.trust_xheaders=True"]


@pytest.fixture(scope="module")
def topology(
    tmp_path_factory: pytest.TempPathFactory,
    amqp_url: str,
    redis_url: str,
    mongo_server_url: str,
    nginx_bin: str,
    prometheus_bin: str,
) -> Iterator[Topology]:
    workdir = tmp_path_factory.mktemp("topology")
    env = scaled_env(amqp_url, redis_url, mongo_server_url)
    token = shared_token()
    args = [*BEHIND_PROXY, f"--IdentityProvider.token={token}"]
    servers = [start_server(workdir / f"server{i}", env, args=args) for i in (1, 2)]
    workers = [start_worker(workdir / f"worker{i}", env) for i in (1, 2)]
    nginx, port = start_nginx(workdir / "nginx", nginx_bin, [s.port for s in servers])
    config = prometheus_config(workdir, servers, workers, token)
    prometheus, prometheus_url = start_prometheus(workdir, prometheus_bin, config)
    with running(*servers, *workers, nginx, prometheus):
        for server in servers:
            wait_ready(f"{server.api}/health")
        yield Topology(port, servers, workers, prometheus_url, token)


class Classroom:
    """One teacher's notebook session and its room, reached through nginx."""

    def __init__(self, topology: Topology, api: Api, account: Account, session: dict[str, Any]):
        self.topology, self.api, self.account, self.session = topology, api, account, session

    @property
    def room_url(self) -> str:
        return self.topology.room_url(self.session["id"], self.account.access_token)

    async def run(self, cell_id: str, code: str) -> dict[str, Any]:
        return await self.api.run_cell(self.account, self.session["id"], cell_id, code)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def classroom(topology: Topology) -> Any:
    async with Api(topology.api) as api:
        account = await api.register()
        cells = [code_cell(f"c{i}") for i in range(4)]
        session = await api.create_session(account, content=ipynb(*cells))
        yield Classroom(topology, api, account, session)


def outputs(client: YClient, cell_id: str) -> list[str]:
    """The stream texts of one cell in a client's copy of the notebook."""
    for cell in client.notebook.ycells:
        if cell.get("id") == cell_id:
            return [str(o.get("text", "")) for o in cell["outputs"].to_py()]
    return []


async def test_cells_run_through_nginx_and_outputs_reach_the_room(classroom: Classroom) -> None:
    """Through nginx, runs queued on either instance (round robin) write their outputs
    into the room the client has open, once each."""
    async with YClient.connect(classroom.room_url) as client:
        for i in range(3):
            job = await classroom.run(f"c{i}", f"print('cell {i}')")
            assert (await classroom.api.wait_job(classroom.account, job["id"]))[
                "status"
            ] == "succeeded"
        await client.wait_for(lambda: all(outputs(client, f"c{i}") for i in range(3)), 30)
        assert [outputs(client, f"c{i}") for i in range(3)] == [[f"cell {i}\n"] for i in range(3)]


async def test_prometheus_scrapes_everything_and_every_query_runs(
    topology: Topology, classroom: Classroom
) -> None:
    """A real Prometheus has all four targets up within 30 s; every alert expression and
    dashboard query runs without error, and the runs-by-status query has data."""
    waited_s = await asyncio.to_thread(wait_targets_up, topology.prometheus_url, 4, 30.0)
    print(f"targets up after {waited_s:.1f} s")
    await asyncio.sleep(3)  # two scrapes after the runs above
    for expr in alert_expressions() + dashboard.queries(dashboard.load()):
        await asyncio.to_thread(query, topology.prometheus_url, expr)
    runs = await asyncio.to_thread(
        query,
        topology.prometheus_url,
        'sum by (status) (codecrafter_runs_total{status="succeeded"})',
    )
    assert runs and float(runs[0]["value"][1]) >= 3
    live = await asyncio.to_thread(query, topology.prometheus_url, "max(codecrafter_workers_live)")
    assert float(live[0]["value"][1]) == 2


async def test_sigterm_on_an_instance_mid_run_moves_its_clients(
    topology: Topology, classroom: Classroom
) -> None:
    """SIGTERM to the instance holding the room's socket while a cell runs: the client is
    told to reconnect (1012), reconnects through nginx to the other instance, and the run's
    output is there exactly once; the stopped instance exits 0."""
    async with YClient.connect(classroom.room_url) as client:
        holder = await asyncio.to_thread(holding_socket, topology)
        job = await classroom.run("c3", "import time\ntime.sleep(2)\nprint('survived')")
        await asyncio.sleep(0.5)
        holder.proc.send_signal(signal.SIGTERM)
        assert await client.closed(timeout_s=60) == 1012
    assert await asyncio.to_thread(holder.proc.wait, 60) == 0
    async with YClient.connect(classroom.room_url) as again:
        await again.wait_for(lambda: bool(outputs(again, "c3")), 30)
        await asyncio.sleep(1)  # a duplicate would arrive by now
        assert outputs(again, "c3") == ["survived\n"]
        assert [outputs(again, f"c{i}") for i in range(3)] == [[f"cell {i}\n"] for i in range(3)]
    assert (await classroom.api.wait_job(classroom.account, job["id"]))["status"] == "succeeded"


def holding_socket(topology: Topology) -> Any:
    """The server instance that has the room's WebSocket (from its own metrics)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for server in topology.servers:
            text = scrape(server, topology.jupyter_token)
            if sample(text, "codecrafter_websocket_connections") == 1:
                return server
        time.sleep(0.2)
    raise AssertionError("no instance reports the room's connection")
