"""Real sockets: tests/yclient.py and a stock Yjs client (y-websocket in Node) against the
rooms, through a WebSocket server that adapts sockets as the tornado handler does."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from jupyter_codecrafter.rooms.manager import RoomManager
from jupyter_codecrafter.rooms.protocol import CLOSE_DELETED
from jupyter_codecrafter.store.base import Store
from jupyter_codecrafter.store.records import SessionKind
from tests.notebooks import code_cell, ipynb
from tests.rooms.conftest import ManagerFactory
from tests.rooms.harness import new_session, sources
from tests.rooms.wsserver import serve_rooms
from tests.services import need
from tests.yclient import YClient

JS_DIR = Path(__file__).with_name("js")
CACHE_DIR = Path.home() / ".cache" / "jupyter-codecrafter"


@pytest.fixture(scope="session")
def yjs_peer() -> Path:
    """The Node script, with yjs and y-websocket installed beside it (once per version)."""
    manifest = (JS_DIR / "package.json").read_bytes()
    target = CACHE_DIR / f"yjs-peer-{hashlib.sha256(manifest).hexdigest()[:12]}"

    def install() -> None:
        node, npm = shutil.which("node"), shutil.which("npm")
        if node is None or npm is None:
            raise FileNotFoundError("node and npm are needed")
        if not (target / "node_modules" / "y-websocket").is_dir():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(JS_DIR / "package.json", target / "package.json")
            subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--silent"],
                cwd=target,
                check=True,
                capture_output=True,
                timeout=300,
            )
        shutil.copy(JS_DIR / "yjs_peer.cjs", target / "yjs_peer.cjs")

    need("Node.js with yjs and y-websocket", install)
    return target / "yjs_peer.cjs"


async def run_node(script: Path, *args: str) -> asyncio.subprocess.Process:
    node = shutil.which("node")
    assert node is not None
    return await asyncio.create_subprocess_exec(
        node, str(script), *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


async def result_of(process: asyncio.subprocess.Process) -> dict[str, Any]:
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0, stderr.decode()
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


async def test_yclient_over_websockets(store: Store, make_manager: ManagerFactory) -> None:
    """Two socket clients edit together, a reader is told it is read-only, and deleting the
    session closes every socket with 4404."""
    manager: RoomManager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "a")))
    async with serve_rooms(manager) as base:
        url = f"{base}/{session_id}"
        async with (
            YClient.connect(f"{url}?user=ann") as ann,
            YClient.connect(f"{url}?user=bob") as bob,
            YClient.connect(f"{url}?user=rob&role=read") as rob,
        ):
            ann.notebook.ycells[0]["source"].insert(1, "nn")
            await bob.wait_for(lambda: sources_of(bob) == ["ann"])
            rob.notebook.ycells[0]["source"].insert(0, "X")
            await rob.wait_for(lambda: rob.control_messages != [])
            assert rob.control_messages[0]["type"] == "read_only"

            await manager.close_room(session_id, CLOSE_DELETED, "deleted")
            for client in (ann, bob, rob):
                assert await client.closed() == CLOSE_DELETED
            assert sources_of(ann) == ["ann"]


def sources_of(client: YClient) -> list[str]:
    return sources(client)


async def test_stock_yjs_client_edits_with_a_pycrdt_client(
    store: Store, make_manager: ManagerFactory, yjs_peer: Path
) -> None:
    """y-websocket's own provider syncs, edits and shows presence with our server, and
    the name it claims is replaced by its real identity."""
    manager: RoomManager = await make_manager()
    session_id = await new_session(store, "start", kind=SessionKind.FILE)
    async with serve_rooms(manager) as base:
        url = f"{base}/{session_id}?user=py&kind=file"
        async with YClient.connect(url, kind=SessionKind.FILE) as py:
            py.set_awareness({"cursor": 0})
            node = await run_node(yjs_peer, base, session_id, "node", "write")
            await py.wait_for(lambda: " from yjs" in py.text.get(), timeout_s=30)
            # Node set its cursor just before typing, so it is here by now.
            node_state = next(s for s in py.peers().values() if s.get("cursor") == 1)
            py.text.set(py.text.get() + " from python")
            result = await result_of(node)
            await py.wait_for(lambda: py.text.get() == result["text"])

    assert result["text"] == "start from yjs from python"
    assert node_state["user"] == {
        "username": "node",
        "name": "Node",
        "display_name": "Node",
        "id": "u-node",
        "color": "#00ff00",
    }
    assert any(s.get("user", {}).get("id") == "u-py" for s in result["peers"])
    assert await manager.get_content(session_id, SessionKind.FILE) == result["text"]


async def test_stock_yjs_reader_is_told_and_ignored(
    store: Store, make_manager: ManagerFactory, yjs_peer: Path
) -> None:
    """A stock Yjs reader gets our control message and its typing reaches nobody."""
    manager: RoomManager = await make_manager()
    session_id = await new_session(store, "text", kind=SessionKind.FILE)
    async with serve_rooms(manager) as base:
        url = f"{base}/{session_id}?user=py&kind=file"
        async with YClient.connect(url, kind=SessionKind.FILE) as py:
            node = await run_node(yjs_peer, base, session_id, "reader", "read")
            await py.wait_for(lambda: len(py.peers()) == 1, timeout_s=30)
            py.text.set(py.text.get() + " after")
            result = await result_of(node)

    assert result["control"][0]["type"] == "read_only"
    assert "reader edit" in result["text"]  # only in the reader's own copy
    assert await manager.get_content(session_id, SessionKind.FILE) == "text after"
