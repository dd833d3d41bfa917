"""Readers follow along but cannot change the document; role changes apply to live sockets."""

from __future__ import annotations

import json

from pycrdt import Encoder, create_awareness_message, create_update_message

from jupyter_codecrafter.rooms.documents import content_of, doc_from_state, wrap
from jupyter_codecrafter.rooms.protocol import CLOSE_REMOVED
from jupyter_codecrafter.store.base import Store
from jupyter_codecrafter.store.records import SessionKind, SessionRole
from tests.notebooks import code_cell, ipynb
from tests.rooms.conftest import Join, ManagerFactory
from tests.rooms.harness import new_session, sources
from tests.waiting import eventually

READ, WRITE = SessionRole.READ, SessionRole.WRITE


async def stored_sources(store: Store, session_id: str) -> list[str]:
    state = await store.documents.load(session_id)
    content = content_of(wrap(SessionKind.NOTEBOOK, doc_from_state(session_id, state)))
    assert isinstance(content, dict)
    return [cell["source"] for cell in content["cells"]]


async def test_reader_edit_is_dropped_everywhere(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """A reader's typing reaches no one and is not saved; the reader is told once."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "x = 1")))
    ann = await join(manager, session_id, name="ann")
    rob = await join(manager, session_id, name="rob", role=READ)

    rob.notebook.ycells[0]["source"].insert(0, "EVIL ")
    await rob.client.wait_for(lambda: len(rob.client.control_messages) == 1)
    rob.notebook.append_cell(code_cell("c2", "EVIL 2"))
    await rob.settle()
    ann.notebook.ycells[0]["source"].insert(5, "0")  # a later edit, to every client in order
    await rob.client.wait_for(lambda: "x = 10" in sources(rob.client)[0])

    assert rob.client.control_messages == [
        {"type": "read_only", "message": rob.client.control_messages[0]["message"]}
    ]
    assert sources(ann.client) == ["x = 10"]
    content = await manager.get_content(session_id, SessionKind.NOTEBOOK)
    assert isinstance(content, dict)
    assert [cell["source"] for cell in content["cells"]] == ["x = 10"]
    await eventually(lambda: _has(store, session_id, "x = 10"))
    assert await stored_sources(store, session_id) == ["x = 10"]
    cat = await join(manager, session_id, name="cat")
    assert sources(cat.client) == ["x = 10"]


async def _has(store: Store, session_id: str, source: str) -> bool:
    return source in await stored_sources(store, session_id)


async def test_reconnecting_reader_is_not_told_read_only(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """A reader whose sync reply carries only deletions it shares with us sees no notice."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "abcdef")))
    ann = await join(manager, session_id, name="ann")
    del ann.notebook.ycells[0]["source"][0:3]
    await ann.settle()
    known = ann.client.doc.get_update()
    assert len(ann.client.doc.get_update(ann.client.doc.get_state())) > 2  # has deletions

    rob = await join(manager, session_id, name="rob", role=READ, prepare=lambda c: c.restore(known))
    await rob.settle()  # our sync step 1 was answered with the delete set
    ann.notebook.ycells[0]["source"].insert(0, "!")
    await rob.client.wait_for(lambda: sources(rob.client) == ["!def"])
    assert rob.client.control_messages == []


async def test_reader_awareness_carries_server_identity(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """A reader's cursor is shown to others under the reader's real name, whatever it claims."""
    manager = await make_manager()
    session_id = await new_session(store)
    ann = await join(manager, session_id, name="ann")
    rob = await join(manager, session_id, name="rob", role=READ)

    claimed = {"username": "ann", "name": "Teacher", "color": "#ff0000"}
    rob.client.set_awareness({"user": claimed, "cursor": {"line": 4}})
    rid = rob.client.client_id
    await ann.client.wait_for(lambda: "cursor" in ann.client.peers().get(rid, {}))

    assert ann.client.peers()[rid] == {
        "user": {
            "username": "rob",
            "name": "Rob",
            "display_name": "Rob",
            "id": "u-rob",
            "color": "#ff0000",
        },
        "cursor": {"line": 4},
    }
    assert rob.client.control_messages == []


async def test_spoofed_awareness_id_is_dropped(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """Nobody can set the awareness of a client id another connection announced."""
    manager = await make_manager()
    session_id = await new_session(store)
    ann = await join(manager, session_id, name="ann")
    mal = await join(manager, session_id, name="mal")
    bob = await join(manager, session_id, name="bob")
    ann.client.set_awareness({"cursor": "ann's"})
    aid = ann.client.client_id
    await bob.client.wait_for(lambda: bob.client.peers().get(aid, {}).get("cursor") == "ann's")

    forged = {"cursor": "forged", "user": {"username": "ann"}}
    mal.client.send_raw(awareness_message([(aid, 1000, forged), (777, 1, {"cursor": "mine"})]))
    await bob.client.wait_for(lambda: 777 in bob.client.peers())  # mal's own new id passes
    ann.client.set_awareness_field("cursor", "ann again")
    await bob.client.wait_for(lambda: bob.client.peers()[aid].get("cursor") == "ann again")

    assert bob.client.peers()[aid]["user"]["id"] == "u-ann"
    assert bob.client.peers()[777]["user"]["id"] == "u-mal"


def awareness_message(entries: list[tuple[int, int, object]]) -> bytes:
    encoder = Encoder()
    encoder.write_var_uint(len(entries))
    for client_id, clock, state in entries:
        encoder.write_var_uint(client_id)
        encoder.write_var_uint(clock)
        encoder.write_var_string(json.dumps(state))
    return create_awareness_message(encoder.to_bytes())


async def test_dropped_connection_awareness_is_removed(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """When someone's socket drops without a goodbye, others stop seeing their cursor."""
    manager = await make_manager()
    session_id = await new_session(store)
    ann = await join(manager, session_id, name="ann")
    bob = await join(manager, session_id, name="bob")
    ann.client.set_awareness({"cursor": 1})
    aid = ann.client.client_id
    await bob.client.wait_for(lambda: aid in bob.client.peers())

    await ann.settle()
    assert ann.room_client is not None
    await ann.room_client.disconnect()  # no awareness goodbye: the socket just closed
    await bob.client.wait_for(lambda: aid not in bob.client.peers())


async def test_downgrade_applies_from_the_next_message(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """Lowered to read, a connected user's next edit is dropped and they are told why."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "a")))
    ann = await join(manager, session_id, name="ann")
    bob = await join(manager, session_id, name="bob")

    await manager.set_role(session_id, "u-bob", READ)
    bob.notebook.ycells[0]["source"].insert(1, "b")
    await bob.client.wait_for(lambda: len(bob.client.control_messages) == 2)
    ann.notebook.ycells[0]["source"].insert(1, "c")
    await bob.client.wait_for(lambda: "c" in sources(bob.client)[0])

    assert [m["type"] for m in bob.client.control_messages] == ["role", "read_only"]
    assert bob.client.control_messages[0]["role"] == "read"
    assert sources(ann.client) == ["ac"]
    assert ann.client.control_messages == []


async def test_upgrade_allows_edits(store: Store, make_manager: ManagerFactory, join: Join) -> None:
    """Raised to write, a connected reader's edits reach everyone."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "a")))
    ann = await join(manager, session_id, name="ann")
    rob = await join(manager, session_id, name="rob", role=READ)

    await manager.set_role(session_id, "u-rob", WRITE)
    await rob.client.wait_for(lambda: rob.client.control_messages != [])
    rob.notebook.ycells[0]["source"].insert(1, "r")
    await ann.client.wait_for(lambda: sources(ann.client) == ["ar"])
    assert rob.client.control_messages == [{"type": "role", "role": "write"}]


async def test_upgrade_after_dropped_edit_converges(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """Edits a reader makes after being raised to write integrate, even on top of its
    earlier dropped typing (the server asks the client for what it lacks)."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "a")))
    ann = await join(manager, session_id, name="ann")
    rob = await join(manager, session_id, name="rob", role=READ)
    source = rob.notebook.ycells[0]["source"]
    source.insert(1, "1")
    await rob.settle()

    await manager.set_role(session_id, "u-rob", WRITE)
    source.insert(2, "2")
    await ann.client.wait_for(lambda: ann.notebook.get() == rob.notebook.get())
    assert sources(ann.client) == ["a12"]


async def test_removal_closes_with_4403(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """A removed collaborator's socket is closed with 4403 before set_role returns."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "a")))
    ann = await join(manager, session_id, name="ann")
    rob = await join(manager, session_id, name="rob")

    await manager.set_role(session_id, "u-rob", None)
    assert rob.conn.closed is not None
    assert rob.conn.closed.code == CLOSE_REMOVED
    assert await rob.client.closed() == CLOSE_REMOVED

    rob.notebook.ycells[0]["source"].insert(1, "late")
    assert rob.room_client is not None  # a message still in flight when the socket closed
    await rob.room_client.receive(create_update_message(rob.client.doc.get_update()))
    ann.notebook.ycells[0]["source"].insert(1, "n")
    cat = await join(manager, session_id, name="cat")
    await cat.client.wait_for(lambda: sources(cat.client) == ["an"])
    assert ann.client.control_messages == []
