"""Clients of one room see each other's edits, the server's edits, and each other."""

from __future__ import annotations

import functools
import json
from typing import Any

from pycrdt import Decoder, read_message

from jupyter_codecrafter.rooms.notebook import append_output, find_cell, set_execution_count
from jupyter_codecrafter.rooms.protocol import CLOSE_PROTOCOL_ERROR, CLOSE_TRY_AGAIN_LATER
from jupyter_codecrafter.store.base import Store
from jupyter_codecrafter.store.records import SessionKind
from tests.notebooks import code_cell, ipynb
from tests.rooms.conftest import Join, ManagerFactory
from tests.rooms.harness import Peer, StuckConnection, new_session, sources


async def test_two_clients_converge(store: Store, make_manager: ManagerFactory, join: Join) -> None:
    """Concurrent edits by two people end up identical in both their notebooks."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "print(1)")))
    ann = await join(manager, session_id, name="ann")
    bob = await join(manager, session_id, name="bob")

    ann.notebook.ycells[0]["source"].insert(0, "# ann\n")
    bob.notebook.ycells[0]["source"].insert(8, "  # bob")
    bob.notebook.append_cell(code_cell("c2", "x = 2"))

    def converged() -> bool:
        return ann.notebook.get() == bob.notebook.get() and len(sources(ann.client)) == 2

    await ann.client.wait_for(converged)
    await bob.client.wait_for(converged)
    assert sources(ann.client) == ["# ann\nprint(1)  # bob", "x = 2"]


async def test_file_session_text(store: Store, make_manager: ManagerFactory, join: Join) -> None:
    """A text file session syncs its text between two clients."""
    manager = await make_manager()
    session_id = await new_session(store, "hello", kind=SessionKind.FILE)
    ann = await join(manager, session_id, name="ann", kind=SessionKind.FILE)
    bob = await join(manager, session_id, name="bob", kind=SessionKind.FILE)
    assert bob.client.text.get() == "hello"

    ann.client.text.set("hello world")
    await bob.client.wait_for(lambda: bob.client.text.get() == "hello world")
    assert await manager.get_content(session_id, SessionKind.FILE) == "hello world"


async def test_late_joiner_gets_full_doc(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """Someone joining after edits sees the whole current notebook at once."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1")))
    ann = await join(manager, session_id, name="ann")
    ann.notebook.ycells[0]["source"].insert(0, "a = 1")
    ann.notebook.append_cell(code_cell("c2", "b = 2"))
    await ann.settle()

    cat = await join(manager, session_id, name="cat")
    assert cat.notebook.get() == ann.notebook.get()
    assert sources(cat.client) == ["a = 1", "b = 2"]


async def test_server_edit_outputs_appear_once(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """Outputs the server writes appear exactly once for clients on both instances."""
    first, second = await make_manager(), await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "print('ab')")))
    ann = await join(first, session_id, name="ann")
    bob = await join(second, session_id, name="bob")

    async with first.edit(session_id, SessionKind.NOTEBOOK) as nb:
        cell = find_cell(nb, "c1")
        assert cell is not None
        append_output(cell, {"output_type": "stream", "name": "stdout", "text": "a"})
    async with first.edit(session_id, SessionKind.NOTEBOOK) as nb:
        cell = find_cell(nb, "c1")
        assert cell is not None
        append_output(cell, {"output_type": "stream", "name": "stdout", "text": "b\n"})
        set_execution_count(cell, 1)

    expected = [{"output_type": "stream", "name": "stdout", "text": "ab\n"}]
    for peer in (ann, bob):
        await peer.client.wait_for(functools.partial(_counted, peer, 1))
        assert peer.notebook.get()["cells"][0]["outputs"] == expected
    content = await second.get_content(session_id, SessionKind.NOTEBOOK)
    assert isinstance(content, dict)
    assert content["cells"][0]["outputs"] == expected


def _counted(peer: Peer, count: int) -> bool:
    return bool(peer.notebook.get()["cells"][0]["execution_count"] == count)


async def test_malformed_message_closes_only_that_connection(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """A client sending garbage is disconnected with 1002; the others carry on."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1")))
    ann = await join(manager, session_id, name="ann")
    mal = await join(manager, session_id, name="mal")

    mal.client.send_raw(b"\x00\x01\x05\x01\x02")  # a sync step 2 whose update is cut short
    assert await mal.client.closed() == CLOSE_PROTOCOL_ERROR

    cat = await join(manager, session_id, name="cat")
    ann.notebook.ycells[0]["source"].insert(0, "still fine")
    await cat.client.wait_for(lambda: sources(cat.client) == ["still fine"])


async def test_query_awareness_is_answered(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """A client asking who is here gets every present client's awareness state."""
    manager = await make_manager()
    session_id = await new_session(store)
    ann = await join(manager, session_id, name="ann")
    ann.client.set_awareness({"cursor": 3})
    await ann.settle()
    bob = await join(manager, session_id, name="bob")
    seen = len(bob.client.received)

    bob.client.send_raw(b"\x03")

    def answered() -> bool:
        return any(m[0] == 1 for m in bob.client.received[seen:])

    await bob.client.wait_for(answered)
    answer = next(m for m in bob.client.received[seen:] if m[0] == 1)
    states = awareness_states(answer)
    assert states[ann.client.client_id]["cursor"] == 3
    assert states[bob.client.client_id]["user"]["username"] == "bob"


def awareness_states(message: bytes) -> dict[int, Any]:
    decoder = Decoder(read_message(message[1:]))
    states = {}
    for _ in range(decoder.read_var_uint()):
        client_id, _clock = decoder.read_var_uint(), decoder.read_var_uint()
        states[client_id] = json.loads(decoder.read_var_string())
    return states


async def test_slow_client_is_closed_not_waited_for(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """A client that stops reading is disconnected (1013) instead of stalling the room."""
    manager = await make_manager(send_queue_size=4)
    session_id = await new_session(store, ipynb(code_cell("c1")))
    stuck = await join(manager, session_id, name="stuck", conn=StuckConnection(), wait_synced=False)
    ann = await join(manager, session_id, name="ann")
    bob = await join(manager, session_id, name="bob")

    source = ann.notebook.ycells[0]["source"]
    for index in range(10):
        source.insert(index, str(index))
        await ann.settle()  # one edit at a time, as people type
    await bob.client.wait_for(lambda: sources(bob.client) == ["0123456789"])
    assert await stuck.client.closed() == CLOSE_TRY_AGAIN_LATER
