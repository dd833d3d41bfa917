"""Two server instances (two RoomManagers, two RedisBus clients on one namespace) keep one
room in step: edits, awareness, role changes and deletion reach both."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from jupyter_codecrafter.bus.base import Bus
from jupyter_codecrafter.rooms import livecontent
from jupyter_codecrafter.rooms.documents import content_of
from jupyter_codecrafter.rooms.protocol import CLOSE_DELETED, CLOSE_REMOVED
from jupyter_codecrafter.rooms.replication import (
    Kind,
    decode_envelope,
    holders_key,
    room_channel,
)
from jupyter_codecrafter.rooms.room import Room
from jupyter_codecrafter.store.base import Store, create_store
from jupyter_codecrafter.store.records import SessionKind, SessionRole
from tests.notebooks import code_cell, ipynb
from tests.rooms.conftest import Join, ManagerFactory
from tests.rooms.harness import Peer, new_session, sources
from tests.waiting import eventually


def _same(one: Peer, two: Peer) -> bool:
    return bool(one.notebook.get() == two.notebook.get())


async def test_two_instances_converge(
    store: Store, redis_buses: list[Bus], make_manager: ManagerFactory, join: Join
) -> None:
    """Client A on instance 1 and client B on instance 2 edit at once and end up equal,
    and see each other's cursors."""
    first = await make_manager(bus=redis_buses[0])
    second = await make_manager(bus=redis_buses[1])
    session_id = await new_session(store, ipynb(code_cell("c1", "shared")))
    ann = await join(first, session_id, name="ann")
    bob = await join(second, session_id, name="bob")

    ann.notebook.ycells[0]["source"].insert(0, "A:")
    bob.notebook.append_cell(code_cell("c2", "B"))
    bob.notebook.ycells[0]["source"].insert(6, "!")
    ann.client.set_awareness({"cursor": {"cell": "c1"}})

    await ann.client.wait_for(lambda: _same(ann, bob) and len(sources(ann.client)) == 2)
    assert sources(bob.client) == ["A:shared!", "B"]
    aid = ann.client.client_id
    await bob.client.wait_for(lambda: "cursor" in bob.client.peers().get(aid, {}))
    assert bob.client.peers()[aid]["user"]["id"] == "u-ann"


async def test_lost_pubsub_message_is_resynced(
    store: Store, redis_buses: list[Bus], make_manager: ManagerFactory, join: Join
) -> None:
    """An update published while the other instance was not listening still reaches it,
    through the periodic state-vector exchange."""
    first = await make_manager(bus=redis_buses[0], resync_interval_s=0.1)
    second = await make_manager(bus=redis_buses[1], resync_interval_s=0.1)
    session_id = await new_session(store, ipynb(code_cell("c1", "x")))
    ann = await join(first, session_id, name="ann")
    bob = await join(second, session_id, name="bob")
    room = second.room(session_id)
    assert room is not None

    async with lost_by(room, redis_buses[0], session_id):
        ann.notebook.ycells[0]["source"].insert(1, " = 1")
    assert sources(bob.client) == ["x"]
    content = content_of(room.document)
    assert isinstance(content, dict)
    assert content["cells"][0]["source"] == "x"  # the update was lost for instance 2

    await room.replica.subscribe()
    await bob.client.wait_for(lambda: sources(bob.client) == ["x = 1"])


@asynccontextmanager
async def lost_by(room: Room, bus: Bus, session_id: str) -> AsyncIterator[None]:
    """Within the block, ``room`` hears nothing from the bus (as while its pub/sub
    connection is down); on exit, instance 1 has published an update it missed."""
    published = asyncio.Event()

    async def watch(data: bytes) -> None:
        kind, origin, _ = decode_envelope(data)
        if kind is Kind.UPDATE and origin == "instance-1":
            published.set()

    watcher = await bus.subscribe(room_channel(session_id), watch)
    await room.replica.unsubscribe()
    yield
    await asyncio.wait_for(published.wait(), 10)
    await watcher.close()


async def test_deletion_only_update_is_resynced(
    store: Store, redis_buses: list[Bus], make_manager: ManagerFactory, join: Join
) -> None:
    """A lost update that only deletes text (no new state-vector clock) is repaired too."""
    first = await make_manager(bus=redis_buses[0], resync_interval_s=0.1)
    second = await make_manager(bus=redis_buses[1], resync_interval_s=0.1)
    session_id = await new_session(store, ipynb(code_cell("c1", "keep-drop")))
    ann = await join(first, session_id, name="ann")
    bob = await join(second, session_id, name="bob")
    room = second.room(session_id)
    assert room is not None

    async with lost_by(room, redis_buses[0], session_id):
        del ann.notebook.ycells[0]["source"][4:]
    assert sources(bob.client) == ["keep-drop"]
    await room.replica.subscribe()
    await bob.client.wait_for(lambda: sources(bob.client) == ["keep"])


async def test_close_room_closes_both_instances(
    store: Store, redis_buses: list[Bus], make_manager: ManagerFactory, join: Join
) -> None:
    """Deleting a session closes every socket on every instance with 4404 and unloads it."""
    first = await make_manager(bus=redis_buses[0])
    second = await make_manager(bus=redis_buses[1])
    session_id = await new_session(store, ipynb(code_cell("c1")))
    ann = await join(first, session_id, name="ann")
    bob = await join(second, session_id, name="bob")

    await first.close_room(session_id, CLOSE_DELETED, "The session was deleted.")
    assert ann.conn.closed is not None
    assert ann.conn.closed.code == CLOSE_DELETED
    assert first.room(session_id) is None
    assert await bob.client.closed() == CLOSE_DELETED
    await eventually(functools.partial(_unloaded, second, session_id))


async def _unloaded(manager: object, session_id: str) -> bool:
    return getattr(manager, "room")(session_id) is None  # noqa: B009 (typed as object)


async def test_role_changes_reach_the_other_instance(
    store: Store, redis_buses: list[Bus], make_manager: ManagerFactory, join: Join
) -> None:
    """Lowering or removing a user on instance 1 applies to their socket on instance 2."""
    first = await make_manager(bus=redis_buses[0])
    second = await make_manager(bus=redis_buses[1])
    session_id = await new_session(store, ipynb(code_cell("c1", "a")))
    ann = await join(first, session_id, name="ann")
    bob = await join(second, session_id, name="bob")

    await first.set_role(session_id, "u-bob", SessionRole.READ)
    await bob.client.wait_for(lambda: bob.client.control_messages != [])
    assert bob.client.control_messages == [{"type": "role", "role": "read"}]
    bob.notebook.ycells[0]["source"].insert(1, "b")
    await bob.client.wait_for(lambda: len(bob.client.control_messages) == 2)
    assert bob.client.control_messages[1]["type"] == "read_only"
    ann.notebook.ycells[0]["source"].insert(1, "n")
    await bob.client.wait_for(lambda: "n" in sources(bob.client)[0])
    assert sources(ann.client) == ["an"]

    await first.set_role(session_id, "u-bob", None)
    assert await bob.client.closed() == CLOSE_REMOVED


@pytest.fixture
async def second_store(tmp_path: Path, store: Store) -> AsyncIterator[Store]:
    """Another instance's connection to the test's database (closed even if a test fails)."""
    connection = create_store(f"sqlite:///{tmp_path / 'rooms.db'}")
    await connection.open()
    yield connection
    await connection.close()


async def test_content_has_edits_only_another_instance_holds(
    store: Store,
    second_store: Store,
    redis_buses: list[Bus],
    make_manager: ManagerFactory,
    join: Join,
) -> None:
    """An instance without the room reads, as fork and export do, the edits a room on
    another instance has not been able to save yet."""
    first = await make_manager(bus=redis_buses[0])
    second = await make_manager(bus=redis_buses[1], store=second_store)
    session_id = await new_session(store, ipynb(code_cell("c1", "x")))
    bob = await join(second, session_id, name="bob")

    await second_store.close()  # instance 2's appends now wait for the store
    bob.notebook.ycells[0]["source"].insert(1, " = 1")
    await bob.settle()
    content = await first.get_content(session_id, SessionKind.NOTEBOOK)
    await second_store.open()
    assert isinstance(content, dict)
    assert content["cells"][0]["source"] == "x = 1"
    assert first.room(session_id) is None  # read without loading the room here


async def test_content_read_survives_a_holder_that_died(
    store: Store,
    redis_buses: list[Bus],
    make_manager: ManagerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An instance listed as holding the room that no longer answers delays a read briefly;
    the read still returns the stored document."""
    monkeypatch.setattr(livecontent, "CONTENT_TIMEOUT_S", 0.2)
    first = await make_manager(bus=redis_buses[0])
    session_id = await new_session(store, ipynb(code_cell("c1", "stored")))
    stamp = str(time.time()).encode()
    await redis_buses[1].hash_set(holders_key(session_id), "ghost", stamp, ttl_s=30)

    content = await first.get_content(session_id, SessionKind.NOTEBOOK)
    assert isinstance(content, dict)
    assert content["cells"][0]["source"] == "stored"
