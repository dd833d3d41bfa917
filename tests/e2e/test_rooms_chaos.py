"""Convergence under chaos: ten people edit one notebook through two instances for 20 s
while their connections drop (cleanly or not) and come back on either instance; then both
instances die (SIGKILL, then SIGTERM) and restart."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
from pathlib import Path
from typing import Any

from tests.client import Account, Api
from tests.namespaces import new_namespace
from tests.notebooks import code_cell, ipynb
from tests.rooms.chaos import ChaosEditor, marker_counts
from tests.server import JupyterServer, running, start_server
from tests.sessions.api_helpers import grant
from tests.yclient import YClient

EDITORS = 10
SECONDS = 20.0
SEED = int(os.environ.get("CODECRAFTER_CHAOS_SEED", random.randrange(2**32)))


def shared_env(tmp_path: Path, redis_url: str) -> dict[str, str]:
    return {
        "CODECRAFTER_STORE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "CODECRAFTER_REDIS_URL": redis_url,
        "CODECRAFTER_JWT_SECRET": secrets.token_urlsafe(48),
        "CODECRAFTER_NAMESPACE": new_namespace(),
    }


async def everyone_agrees(clients: list[Any]) -> dict[str, Any]:
    """Wait until every client shows the same notebook; that notebook."""
    async with asyncio.timeout(60):
        while True:
            notebooks = [client.notebook.get() for client in clients]
            if all(nb == notebooks[0] for nb in notebooks):
                return notebooks[0]  # type: ignore[no-any-return]
            await asyncio.sleep(0.1)


async def start_both(tmp_path: Path, env: dict[str, str]) -> list[JupyterServer]:
    """Both instances, started side by side."""
    starts = (asyncio.to_thread(start_server, tmp_path / name, env) for name in ("one", "two"))
    return list(await asyncio.gather(*starts))


async def fresh_view(server: JupyterServer, session_id: str, account: Account) -> Any:
    async with YClient.connect(server.room_url(session_id, account.access_token)) as client:
        return client.notebook.get()


async def test_ten_editors_converge_through_drops_and_restarts(
    tmp_path: Path, redis_url: str
) -> None:
    """Every client, a fresh client on each instance and the document reloaded after both
    instances die are identical, and every marker anyone typed is in it exactly once."""
    print(f"CODECRAFTER_CHAOS_SEED={SEED}")
    env = shared_env(tmp_path, redis_url)
    one, two = await start_both(tmp_path, env)
    with running(one, two):
        async with Api(one.api) as api:
            owner = await api.register()
            cells = [code_cell(f"c{i}", f"start {i}") for i in range(5)]
            sid = (await api.create_session(owner, content=ipynb(*cells)))["id"]
            accounts = [await api.register() for _ in range(EDITORS)]
            for account in accounts:
                await grant(api, owner, sid, account, "write")
        editors = [
            ChaosEditor(
                f"e{i}",
                [server.room_url(sid, account.access_token) for server in (one, two)],
                random.Random(SEED + i),
            )
            for i, account in enumerate(accounts)
        ]
        await asyncio.gather(*(editor.connect() for editor in editors))
        await asyncio.gather(*(editor.run(SECONDS) for editor in editors))

        final = await everyone_agrees([editor.socket for editor in editors])
        assert await fresh_view(one, sid, owner) == final
        assert await fresh_view(two, sid, owner) == final
        one.kill()
        two.stop()
    assert sum(editor.disconnects for editor in editors) >= EDITORS  # chaos did happen
    typed = [marker for editor in editors for marker in editor.markers]
    counts = marker_counts(final)
    assert {marker: counts.get(marker, 0) for marker in typed if counts.get(marker) != 1} == {}

    restarted = await start_both(tmp_path, env)
    with running(*restarted):
        for server in restarted:
            assert await fresh_view(server, sid, owner) == final
