"""Documents survive unloads and restarts; compaction bounds the log and loses nothing."""

from __future__ import annotations

import asyncio
import copy
import functools
from typing import Any

import nbformat
import pytest

from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.rooms.documents import content_of, doc_from_state, initial_update, wrap
from jupyter_codecrafter.rooms.protocol import CLOSE_SERVICE_RESTART
from jupyter_codecrafter.store.base import Store
from jupyter_codecrafter.store.records import SessionKind
from tests.notebooks import code_cell, ipynb
from tests.rooms.conftest import Join, ManagerFactory
from tests.rooms.harness import Peer, new_session, sources
from tests.waiting import eventually


async def stored_sources(store: Store, session_id: str) -> list[str]:
    state = await store.documents.load(session_id)
    content = content_of(wrap(SessionKind.NOTEBOOK, doc_from_state(session_id, state)))
    assert isinstance(content, dict)
    return [cell["source"] for cell in content["cells"]]


async def test_document_survives_unload_and_reload(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """After everyone leaves and the room unloads, the next visitor finds every edit."""
    manager = await make_manager(idle_unload_s=0.05)
    session_id = await new_session(store, ipynb(code_cell("c1")))
    ann = await join(manager, session_id, name="ann")
    ann.notebook.ycells[0]["source"].insert(0, "kept = True")
    ann.notebook.append_cell(code_cell("c2", "also = 1"))
    await ann.leave()

    await eventually(lambda: _unloaded(manager, session_id))
    # The room leaves the manager first and compacts under its lock: wait for the store.
    await eventually(lambda: _compacted(store, session_id))

    cat = await join(manager, session_id, name="cat")
    assert sources(cat.client) == ["kept = True", "also = 1"]


async def _unloaded(manager: Any, session_id: str) -> bool:
    return manager.room(session_id) is None


async def _compacted(store: Store, session_id: str) -> bool:
    state = await store.documents.load(session_id)
    return state.snapshot is not None and state.updates == []


async def test_compaction_keeps_updates_it_had_not_merged(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """Two instances append at once; one compacts without having seen the other's edits,
    and nothing is lost."""
    # Separate buses: the instances share the store but never hear of each other's edits.
    first = await make_manager(bus=MemoryBus(), compact_every=1)
    second = await make_manager(bus=MemoryBus(), compact_every=10_000)
    session_id = await new_session(store, ipynb(code_cell("c1"), code_cell("c2")))
    ann = await join(first, session_id, name="ann")
    bob = await join(second, session_id, name="bob")

    bob.notebook.ycells[1]["source"].insert(0, "bob's")
    await eventually(lambda: _stored_has(store, session_id, "bob's"))
    ann.notebook.ycells[0]["source"].insert(0, "ann's")
    await eventually(lambda: _stored_has(store, session_id, "ann's"))
    await ann.client.wait_for(lambda: sources(ann.client) == ["ann's", "bob's"])

    state = await store.documents.load(session_id)
    assert state.snapshot is not None
    assert state.updates == []  # every row was merged into the snapshot
    assert await stored_sources(store, session_id) == ["ann's", "bob's"]
    reloaded = await make_manager()
    content = await reloaded.get_content(session_id, SessionKind.NOTEBOOK)
    assert isinstance(content, dict)
    assert [cell["source"] for cell in content["cells"]] == ["ann's", "bob's"]


async def _stored_has(store: Store, session_id: str, text: str) -> bool:
    return text in await stored_sources(store, session_id)


async def test_log_is_compacted_every_n_updates(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """The stored update log stays short: it is folded into a snapshot every N updates."""
    manager = await make_manager(compact_every=5)
    session_id = await new_session(store, ipynb(code_cell("c1")))
    ann = await join(manager, session_id, name="ann")
    source = ann.notebook.ycells[0]["source"]
    for index in range(1, 13):
        source.insert(0, "x")
        # Saved before the next keystroke: one stored update each (a burst would be merged).
        await eventually(functools.partial(_stored_has, store, session_id, "x" * index))
    state = await store.documents.load(session_id)
    assert state.snapshot is not None
    assert len(state.updates) < 5
    (stats,) = manager.stats()
    assert stats.session_id == session_id
    assert stats.connections == 1
    assert stats.updates_since_snapshot < 5
    assert stats.doc_size_bytes > 0


async def test_stop_saves_and_says_reconnect(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """Stopping the server closes sockets with 1012 (reconnect, to another instance) and
    leaves every edit in one snapshot."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1")))
    ann = await join(manager, session_id, name="ann")
    ann.notebook.ycells[0]["source"].insert(0, "saved")
    await ann.settle()

    await manager.stop()
    assert await ann.client.closed() == CLOSE_SERVICE_RESTART
    state = await store.documents.load(session_id)
    assert state.updates == []
    assert await stored_sources(store, session_id) == ["saved"]


async def test_concurrent_connects_load_the_room_once(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """Several people opening a session at once all land in the same room."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "one")))
    peers: list[Peer] = await asyncio.gather(
        *(join(manager, session_id, name=f"p{i}") for i in range(5))
    )
    (stats,) = manager.stats()
    assert stats.connections == 5
    peers[0].notebook.ycells[0]["source"].insert(3, "!")
    for peer in peers:
        await peer.client.wait_for(functools.partial(_shows, peer, ["one!"]))


def _shows(peer: Peer, expected: list[str]) -> bool:
    return sources(peer.client) == expected


def sample_notebook() -> dict[str, Any]:
    """An .ipynb as JupyterLab saves it: every cell type and every kind of output."""
    nb: dict[str, Any] = {
        "cells": [
            {"cell_type": "markdown", "id": "md-1", "metadata": {}, "source": "# Title\n*x*"},
            {
                "cell_type": "code",
                "id": "code-1",
                "metadata": {"tags": ["demo"]},
                "source": "print('hi')\n1 + 1",
                "execution_count": 3,
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": "hi\n"},
                    {
                        "output_type": "execute_result",
                        "data": {"text/plain": "2"},
                        "metadata": {},
                        "execution_count": 3,
                    },
                    {
                        "output_type": "display_data",
                        "data": {"text/html": "<b>x</b>"},
                        "metadata": {},
                    },
                    {
                        "output_type": "error",
                        "ename": "ValueError",
                        "evalue": "bad",
                        "traceback": ["line 1", "line 2"],
                    },
                ],
            },
            {"cell_type": "raw", "id": "raw-1", "metadata": {}, "source": "raw text"},
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python", "version": "3.11"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    nbformat.validate(nb)
    return nb


async def test_initial_update_round_trips_an_ipynb(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """A notebook uploaded at creation comes back unchanged, stored or loaded."""
    original = sample_notebook()
    session_id = await new_session(store, copy.deepcopy(original))
    manager = await make_manager()

    from_store = await manager.get_content(session_id, SessionKind.NOTEBOOK)
    assert from_store == original
    await join(manager, session_id, name="ann")
    from_room = await manager.get_content(session_id, SessionKind.NOTEBOOK)
    assert from_room == original
    nbformat.validate(from_room)


@pytest.mark.parametrize(
    ("kind", "expected_cells"), [(SessionKind.NOTEBOOK, 1), (SessionKind.FILE, None)]
)
async def test_initial_update_of_empty_content(
    store: Store, make_manager: ManagerFactory, kind: SessionKind, expected_cells: int | None
) -> None:
    """A new empty notebook is a valid nbformat 4.5 notebook with one empty cell; a new
    file is empty text."""
    session_id = await new_session(store, None, kind=kind)
    manager = await make_manager()
    content = await manager.get_content(session_id, kind)
    if kind is SessionKind.FILE:
        assert content == ""
        return
    assert isinstance(content, dict)
    assert (content["nbformat"], content["nbformat_minor"]) == (4, 5)
    assert len(content["cells"]) == expected_cells
    nbformat.validate(content)


def test_initial_update_rejects_the_wrong_content_type() -> None:
    """A notebook session is created from a notebook dict, a file session from text."""
    with pytest.raises(TypeError):
        initial_update(SessionKind.NOTEBOOK, "text")
    with pytest.raises(TypeError):
        initial_update(SessionKind.FILE, {"cells": []})
    with pytest.raises(ValueError, match="cells"):
        initial_update(SessionKind.NOTEBOOK, {"metadata": {}})


async def test_edit_made_while_the_store_is_down_is_saved_later(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """Edits keep flowing while the database is unavailable and are saved once it is back."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1")))
    ann = await join(manager, session_id, name="ann")
    bob = await join(manager, session_id, name="bob")

    await store.close()
    ann.notebook.ycells[0]["source"].insert(0, "written during the outage")
    await bob.client.wait_for(lambda: sources(bob.client) == ["written during the outage"])
    await store.open()
    await eventually(lambda: _stored_has(store, session_id, "written during the outage"))
