"""Fork, export and ``?include=content`` on one instance see the live document of a room
that is open only on another instance, including an edit typed a moment before and not
saved yet."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from jupyter_codecrafter.rooms.documents import content_of, doc_from_state, wrap
from jupyter_codecrafter.store.records import DocumentState, SessionKind
from tests.client import Api
from tests.namespaces import new_namespace
from tests.notebooks import code_cell, ipynb
from tests.server import JupyterServer, running, start_server
from tests.sessions.api_helpers import grant
from tests.sqlite_locks import write_lock_held
from tests.yclient import YClient

EDITED = "x = 1\nprint(x)"


@pytest.fixture
def pair(tmp_path: Path, redis_url: str) -> Iterator[tuple[JupyterServer, JupyterServer]]:
    """Two instances sharing Redis and one SQLite file (``tmp_path / 'shared.db'``)."""
    env = {
        "CODECRAFTER_STORE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "CODECRAFTER_REDIS_URL": redis_url,
        "CODECRAFTER_JWT_SECRET": secrets.token_urlsafe(48),
        "CODECRAFTER_NAMESPACE": new_namespace(),
    }
    first = start_server(tmp_path / "one", env)
    with running(first):
        second = start_server(tmp_path / "two", env)
        with running(second):
            yield first, second


def stored_source(conn: sqlite3.Connection, session_id: str) -> str:
    """The first cell's source as the store has it (snapshot, then updates)."""
    heads = conn.execute(
        "SELECT snapshot, snapshot_seq FROM document_heads WHERE session_id = ?", (session_id,)
    ).fetchall()
    snapshot, after = heads[0] if heads else (None, 0)
    rows = conn.execute(
        "SELECT data FROM document_updates WHERE session_id = ? AND seq > ? ORDER BY seq",
        (session_id, after),
    ).fetchall()
    state = DocumentState(snapshot, [row[0] for row in rows], len(rows))
    content = content_of(wrap(SessionKind.NOTEBOOK, doc_from_state(session_id, state)))
    assert isinstance(content, dict)
    return str(content["cells"][0]["source"])


async def test_an_unsaved_edit_on_another_instance_is_read_fork_and_exported(
    pair: tuple[JupyterServer, JupyterServer], tmp_path: Path
) -> None:
    """A student types on instance 2 while the store cannot take writes; instance 1's
    content, export and fork all have the new line."""
    one, two = pair
    database = tmp_path / "shared.db"
    async with Api(one.api) as api:
        owner, student = await api.register(), await api.register()
        session = await api.create_session(owner, content=ipynb(code_cell("c1", "x = 1")))
        sid = session["id"]
        await grant(api, owner, sid, student, "write")
        pen_url, eyes_url = (two.room_url(sid, a.access_token) for a in (student, owner))
        async with YClient.connect(pen_url) as pen, YClient.connect(eyes_url) as eyes:
            with write_lock_held(database) as held:
                pen.notebook.ycells[0]["source"].insert(len("x = 1"), "\nprint(x)")
                await eyes.wait_for(lambda: eyes.notebook.get()["cells"][0]["source"] == EDITED)
                assert stored_source(held, sid) == "x = 1"  # not saved yet
                shown = await api.http.get(
                    f"/sessions/{sid}?include=content", headers=owner.headers
                )
                exported = await api.http.get(f"/sessions/{sid}/export", headers=owner.headers)
                fork = asyncio.create_task(
                    api.http.post(f"/sessions/{sid}/fork", json={}, headers=student.headers)
                )
                await asyncio.sleep(0.5)  # the fork reads now; its own write waits for the lock
            forked = await fork
        assert forked.status_code == 201, forked.text
        copy = await api.http.get(
            f"/sessions/{forked.json()['session']['id']}?include=content", headers=student.headers
        )
    assert shown.json()["content"]["cells"][0]["source"] == EDITED
    notebook = nbformat.reads(exported.text, as_version=nbformat.NO_CONVERT)
    assert notebook.cells[0].source == EDITED
    assert copy.json()["content"]["cells"][0]["source"] == EDITED
