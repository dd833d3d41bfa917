"""An idle room keeps its document encoded (a fraction of the memory) and wakes it only to
change it; nothing is lost by sleeping."""

from __future__ import annotations

from pycrdt import Doc, Text

from jupyter_codecrafter.rooms.manager import RoomManager
from jupyter_codecrafter.rooms.notebook import append_output, find_cell
from jupyter_codecrafter.rooms.room import Room
from jupyter_codecrafter.rooms.yupdates import decode_state_vector
from jupyter_codecrafter.store.base import Store
from jupyter_codecrafter.store.records import SessionKind
from tests.notebooks import code_cell, ipynb
from tests.rooms.conftest import Join, ManagerFactory
from tests.rooms.harness import new_session, sources
from tests.waiting import eventually


def loaded(manager: RoomManager, session_id: str) -> Room:
    room = manager.room(session_id)
    assert room is not None
    return room


async def test_joining_and_moving_cursors_leave_the_document_asleep(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """A room's document sleeps once loaded; people joining, syncing and moving their
    cursors do not wake it, and the first edit does."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "x = 1")))
    ann = await join(manager, session_id, name="ann")
    bob = await join(manager, session_id, name="bob")
    ann.client.set_awareness({"cursor": 3})
    await bob.client.wait_for(lambda: ann.client.client_id in bob.client.peers())
    await ann.settle()
    room = loaded(manager, session_id)
    assert room.body.sleeping
    assert sources(bob.client) == ["x = 1"]

    ann.notebook.ycells[0]["source"].insert(5, "0")
    await bob.client.wait_for(lambda: sources(bob.client) == ["x = 10"])
    assert not room.body.sleeping


async def test_a_quiet_room_falls_asleep_and_wakes_for_the_next_edit(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """After a re-sync interval without changes the document sleeps again; later edits,
    and a late joiner, see everything."""
    manager = await make_manager(resync_interval_s=0.05)
    session_id = await new_session(store, ipynb(code_cell("c1", "a")))
    ann = await join(manager, session_id, name="ann")
    room = loaded(manager, session_id)
    for letter in "bcd":
        ann.notebook.ycells[0]["source"].insert(0, letter)
        await ann.settle()
        assert not room.body.sleeping
        await eventually(lambda: _asleep(room))
    cat = await join(manager, session_id, name="cat")
    assert sources(cat.client) == ["dcba"]
    assert (await manager.get_content(session_id, SessionKind.NOTEBOOK))["cells"][0][
        "source"
    ] == "dcba"
    assert room.body.sleeping  # reading the content did not wake it


async def _asleep(room: Room) -> bool:
    return room.body.sleeping


async def test_server_edits_keep_one_client_id_across_wakes(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """The server writes outputs after each wake under the same Yjs client id, so the
    document's state vector does not grow with every run."""
    manager = await make_manager()
    session_id = await new_session(store, ipynb(code_cell("c1", "print(1)")))
    ann = await join(manager, session_id, name="ann")
    room = loaded(manager, session_id)
    for run in range(3):
        async with manager.edit(session_id, SessionKind.NOTEBOOK) as nb:
            cell = find_cell(nb, "c1")
            assert cell is not None
            append_output(cell, {"output_type": "stream", "name": "stdout", "text": f"{run}\n"})
        room.tick()
        room.tick()
        assert room.body.sleeping
    await ann.client.wait_for(lambda: len(ann.notebook.get()["cells"][0]["outputs"]) == 1)
    clients = decode_state_vector(room.body.state())
    assert len(clients) == 2  # the one that created the notebook, and this server


async def test_an_update_waiting_for_its_predecessor_survives_sleep_and_unload(
    store: Store, make_manager: ManagerFactory
) -> None:
    """An update that arrives before the one it depends on is kept while the document
    sleeps and in the snapshot written at unload, and shows once its predecessor comes."""
    manager = await make_manager(idle_unload_s=0.01)
    session_id = await new_session(store, "", kind=SessionKind.FILE)
    first, second = _two_steps()
    async with manager.edit(session_id, SessionKind.FILE):
        room = loaded(manager, session_id)
        room.apply_external(second)
    room.tick()
    room.tick()
    assert room.body.sleeping
    await eventually(lambda: _unloaded(manager, session_id))

    async with manager.edit(session_id, SessionKind.FILE):
        loaded(manager, session_id).apply_external(first)
    assert await manager.get_content(session_id, SessionKind.FILE) == "one two"


def _two_steps() -> tuple[bytes, bytes]:
    """Two updates to the file's text from another client; the second builds on the first."""
    doc: Doc = Doc()
    text = doc.get("source", type=Text)
    text.insert(0, "one")
    first = doc.get_update()
    state = doc.get_state()
    text.insert(3, " two")
    return first, doc.get_update(state)


async def _unloaded(manager: RoomManager, session_id: str) -> bool:
    return manager.room(session_id) is None
