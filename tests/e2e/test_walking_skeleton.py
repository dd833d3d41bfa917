"""Sign in, share a notebook, run cells, and see the outputs in the shared document:
the same flow in embedded mode and in scaled mode (RabbitMQ, Redis, Docker, MongoDB)."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_codecrafter.store.records import SessionKind
from tests.client import Api
from tests.e2e.conftest import Deployment
from tests.notebooks import code_cell
from tests.yclient import YClient


def cell(client: YClient, cell_id: str) -> dict[str, Any] | None:
    for candidate in client.notebook.get()["cells"]:
        if candidate.get("id") == cell_id:
            return candidate  # type: ignore[no-any-return]
    return None


def stdout(text: str) -> list[dict[str, Any]]:
    return [{"output_type": "stream", "name": "stdout", "text": text}]


async def run_and_see(
    api: Api,
    account: Any,
    clients: list[YClient],
    session_id: str,
    cell_id: str,
    source: str,
    expected: list[dict[str, Any]],
    count: int,
) -> None:
    """Insert a cell through the first client, run it, and check every view of the result."""
    clients[0].notebook.append_cell(code_cell(cell_id, source))
    for client in clients:
        await client.wait_for(lambda c=client: cell(c, cell_id) is not None)
    job = await api.run_cell(account, session_id, cell_id, source)
    assert job["status"] in ("queued", "running", "succeeded")
    done = await api.wait_job(account, job["id"])
    assert done["status"] == "succeeded", done
    assert done["outputs"] == expected
    assert done["execution_count"] == count
    assert done["queued_at"] <= done["started_at"] <= done["finished_at"]
    for client in clients:
        # The execution count is written last: once it is there, every output is too,
        # and each must appear exactly once.
        await client.wait_for(
            lambda c=client: (cell(c, cell_id) or {}).get("execution_count") == count
        )
        assert cell(client, cell_id)["outputs"] == expected  # type: ignore[index]


async def flow(deployment: Deployment) -> None:
    api = Api(deployment.first.api)
    try:
        account = await api.register()
        session = await api.create_session(account, title="Shared notebook")
        token = account.access_token
        async with (
            YClient.connect(
                deployment.first.room_url(session["id"], token), kind=SessionKind.NOTEBOOK
            ) as one,
            YClient.connect(
                deployment.second.room_url(session["id"], token), kind=SessionKind.NOTEBOOK
            ) as two,
        ):
            await run_and_see(
                api,
                account,
                [one, two],
                session["id"],
                "cell-a",
                "x = 20 + 1\nprint('x is', x)",
                stdout("x is 21\n"),
                1,
            )
            # The kernel is stateful: the second cell sees the first cell's variable.
            await run_and_see(
                api, account, [two, one], session["id"], "cell-b", "print(x * 2)", stdout("42\n"), 2
            )
    finally:
        await api.aclose()


async def test_embedded_flow(embedded: Deployment) -> None:
    """Embedded mode: two clients see each output once; cell 2 uses cell 1's variable."""
    await flow(embedded)


@pytest.mark.timeout(240)
async def test_scaled_flow(scaled: Deployment) -> None:
    """Scaled mode: client A on instance 1, client B on instance 2, a separate worker runs the
    kernel in Docker via RabbitMQ; both clients see each output once and state persists."""
    await flow(scaled)
