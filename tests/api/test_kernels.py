"""A session's sandbox kernel through the API: its state (also announced in the room),
interrupt, restart, cancelling runs, and who is in the room."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.client import Account, Api, assert_error
from tests.server import JupyterServer, running, start_server
from tests.sessions.api_helpers import grant
from tests.yclient import YClient

LOOP = "import time\nwhile True:\n    time.sleep(0.05)"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """An embedded server whose worker runs one job at a time, so a second run waits queued."""
    env = {"CODECRAFTER_WORKER_CONCURRENCY": "1"}
    server = start_server(tmp_path_factory.mktemp("kernels"), env)
    with running(server):
        yield server


async def kernel(api: Api, account: Account, session_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/sessions/{session_id}/kernel", headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()["kernel"]  # type: ignore[no-any-return]


async def until_state(api: Api, account: Account, session_id: str, state: str) -> None:
    deadline = time.monotonic() + 30
    while (await kernel(api, account, session_id))["state"] != state:
        assert time.monotonic() < deadline, f"the kernel never became {state}"
        await asyncio.sleep(0.05)


async def job(api: Api, account: Account, job_id: str) -> dict[str, Any]:
    response = await api.http.get(f"/execute/status/{job_id}", headers=account.headers)
    return response.json()["job"]  # type: ignore[no-any-return]


async def until_status(api: Api, account: Account, job_id: str, status: str) -> None:
    deadline = time.monotonic() + 30
    while (await job(api, account, job_id))["status"] != status:
        assert time.monotonic() < deadline, f"the job never became {status}"
        await asyncio.sleep(0.05)


async def test_kernel_state_follows_the_runs(server: JupyterServer) -> None:
    """No kernel before the first run; busy while a cell runs; idle after, on a worker."""
    async with Api(server.api) as api:
        owner = await api.register()
        session = await api.create_session(owner)
        assert (await kernel(api, owner, session["id"]))["state"] == "none"
        started = await api.run_cell(owner, session["id"], "c1", "import time; time.sleep(1)")
        await until_state(api, owner, session["id"], "busy")
        await api.wait_job(owner, started["id"])
        now = await kernel(api, owner, session["id"])
    assert now["state"] == "idle" and now["worker"] and now["started_at"]


async def test_the_room_announces_each_kernel_state(server: JupyterServer) -> None:
    """Every client of the room gets the kernel's changes as control messages, in order."""
    async with Api(server.api) as api:
        owner = await api.register()
        session = await api.create_session(owner)
        async with YClient.connect(server.room_url(session["id"], owner.access_token)) as client:
            done = await api.run_cell(owner, session["id"], "c1", "import time; time.sleep(1)")
            await api.wait_job(owner, done["id"])
            await client.wait_for(lambda: _states(client)[-1:] == ["idle"])
    assert _states(client) == ["starting", "idle", "busy", "idle"]


def _states(client: YClient) -> list[str]:
    return [m["state"] for m in client.control_messages if m.get("type") == "kernel"]


async def test_interrupt_stops_the_cell_and_keeps_the_variables(server: JupyterServer) -> None:
    """Interrupting a busy loop ends it cancelled; what was defined before is still there."""
    async with Api(server.api) as api:
        owner = await api.register()
        session = await api.create_session(owner)
        await api.wait_job(owner, (await api.run_cell(owner, session["id"], "c1", "x = 42"))["id"])
        loop = await api.run_cell(owner, session["id"], "c2", LOOP)
        await until_status(api, owner, loop["id"], "running")
        await until_state(api, owner, session["id"], "busy")
        interrupted = await api.http.post(
            f"/sessions/{session['id']}/kernel/interrupt", headers=owner.headers
        )
        assert interrupted.status_code == 202, interrupted.text
        assert (await api.wait_job(owner, loop["id"]))["status"] == "cancelled"
        after = await api.wait_job(
            owner, (await api.run_cell(owner, session["id"], "c3", "print(x)"))["id"]
        )
    assert after["outputs"][0]["text"] == "42\n"


async def test_restart_clears_the_variables(server: JupyterServer) -> None:
    """After a restart the kernel is fresh: a variable defined before is gone."""
    async with Api(server.api) as api:
        owner = await api.register()
        session = await api.create_session(owner)
        await api.wait_job(owner, (await api.run_cell(owner, session["id"], "c1", "x = 42"))["id"])
        restarted = await api.http.post(
            f"/sessions/{session['id']}/kernel/restart", headers=owner.headers
        )
        assert restarted.status_code == 202, restarted.text
        await until_state(api, owner, session["id"], "starting")
        await until_state(api, owner, session["id"], "idle")
        after = await api.wait_job(
            owner, (await api.run_cell(owner, session["id"], "c2", "print(x)"))["id"]
        )
    assert after["status"] == "failed" and after["outputs"][-1]["ename"] == "NameError"


async def test_readers_see_the_kernel_but_cannot_control_it(server: JupyterServer) -> None:
    """A reader may read the kernel's state; interrupt and restart are for writers (403)."""
    async with Api(server.api) as api:
        owner, reader = await api.register(), await api.register()
        session = await api.create_session(owner)
        await grant(api, owner, session["id"], reader, "read")
        await api.wait_job(owner, (await api.run_cell(owner, session["id"], "c1", "1"))["id"])
        assert (await kernel(api, reader, session["id"]))["state"] == "idle"
        for action in ("interrupt", "restart"):
            path = f"/sessions/{session['id']}/kernel/{action}"
            assert_error(await api.http.post(path, headers=reader.headers), 403)


async def test_no_kernel_to_interrupt_is_a_conflict(server: JupyterServer) -> None:
    """Interrupting a session that never ran anything says there is no kernel (409)."""
    async with Api(server.api) as api:
        owner = await api.register()
        session = await api.create_session(owner)
        path = f"/sessions/{session['id']}/kernel/interrupt"
        assert_error(await api.http.post(path, headers=owner.headers), 409, "no_kernel")


async def test_cancel_a_queued_run_and_a_running_one(server: JupyterServer) -> None:
    """With the worker busy, a queued run is cancelled at once and never runs; the running
    one is stopped by its worker and keeps the output it printed."""
    async with Api(server.api) as api:
        owner = await api.register()
        session = await api.create_session(owner)
        loop = await api.run_cell(owner, session["id"], "c1", "print('started')\n" + LOOP)
        await until_state(api, owner, session["id"], "busy")
        await asyncio.sleep(0.5)  # the kernel flushes what it printed
        waiting = await api.http.post(
            "/execute/snippet",
            json={"language": "python", "code": "print('never')"},
            headers=owner.headers,
        )
        queued = waiting.json()["job"]
        answer = await api.http.post(f"/execute/{queued['id']}/cancel", headers=owner.headers)
        assert (answer.status_code, answer.json()["job"]["status"]) == (202, "cancelled")
        stop = await api.http.post(f"/execute/{loop['id']}/cancel", headers=owner.headers)
        assert stop.status_code == 202, stop.text
        stopped = await api.wait_job(owner, loop["id"])
        assert stopped["status"] == "cancelled"
        assert stopped["outputs"][0]["text"] == "started\n"
        assert stopped["outputs"][-1]["ename"] == "KeyboardInterrupt"
        await asyncio.sleep(0.5)  # time for a wrongly started run to show
        never = await job(api, owner, queued["id"])
        again = await api.http.post(f"/execute/{queued['id']}/cancel", headers=owner.headers)
    assert (never["status"], never["outputs"], never["started_at"]) == ("cancelled", [], None)
    assert_error(again, 409, "already_finished")


async def test_cancel_a_running_snippet(server: JupyterServer) -> None:
    """A snippet stopped while it runs ends cancelled, and its process is gone."""
    async with Api(server.api) as api:
        owner = await api.register()
        started = await api.http.post(
            "/execute/snippet",
            json={"language": "python", "code": LOOP},
            headers=owner.headers,
        )
        snippet = started.json()["job"]
        await until_status(api, owner, snippet["id"], "running")
        await api.http.post(f"/execute/{snippet['id']}/cancel", headers=owner.headers)
        assert (await api.wait_job(owner, snippet["id"]))["status"] == "cancelled"


async def test_presence_lists_who_is_connected(server: JupyterServer) -> None:
    """Everyone connected appears once with their role, colour and connection count, and
    disappears when they leave."""
    async with Api(server.api) as api:
        owner, reader = await api.register(), await api.register()
        session = await api.create_session(owner)
        await grant(api, owner, session["id"], reader, "read")
        url = server.room_url
        async with (
            YClient.connect(url(session["id"], owner.access_token)),
            YClient.connect(url(session["id"], owner.access_token)),
        ):
            async with YClient.connect(url(session["id"], reader.access_token)):
                present = await _presence_when(api, reader, session["id"], 2)
            left = await _presence_when(api, reader, session["id"], 1)
    by_name = {p["username"]: p for p in present}
    assert by_name[owner.user["username"]]["connections"] == 2
    assert by_name[owner.user["username"]]["role"] == "owner"
    assert by_name[reader.user["username"]]["role"] == "read"
    assert all(p["colour"].startswith("#") for p in present)
    assert [p["username"] for p in left] == [owner.user["username"]]


async def _presence_when(
    api: Api, account: Account, session_id: str, count: int
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        response = await api.http.get(f"/sessions/{session_id}/presence", headers=account.headers)
        present: list[dict[str, Any]] = response.json()["present"]
        if len(present) == count:
            return present
        assert time.monotonic() < deadline, present
        await asyncio.sleep(0.05)
