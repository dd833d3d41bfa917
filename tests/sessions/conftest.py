"""Session service fixtures: real stores, real buses, real room managers, in this process.

An :class:`Instance` is what one server instance holds (a store connection, a bus, a room
manager, the session service); tests that need two instances make two on a shared store
and a shared Redis.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from jupyter_codecrafter.bus.base import Bus
from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.rooms.manager import RoomManager
from jupyter_codecrafter.sessions.service import SessionService
from jupyter_codecrafter.store.base import Store, create_store
from jupyter_codecrafter.store.mongo import MongoStore
from jupyter_codecrafter.store.records import Session, SessionKind, SessionRole, User, UserRole
from tests.rooms.harness import Peer
from tests.store import factories


@dataclass
class Instance:
    store: Store
    bus: Bus
    rooms: RoomManager
    sessions: SessionService

    async def user(self, role: UserRole = UserRole.USER, **fields: Any) -> User:
        """A new account; its id is ``u-<username>``, as the room test clients present it."""
        fields.setdefault("username", f"user{uuid.uuid4().hex[:8]}")
        fields.setdefault("id", f"u-{fields['username']}")
        user = factories.user(role=role, **fields)
        await self.store.users.create(user)
        return user

    async def notebook(self, owner: User, **fields: Any) -> Session:
        """A new notebook session owned by ``owner``."""
        values: dict[str, Any] = {"title": "Lesson", "kind": SessionKind.NOTEBOOK}
        values.update(fields)
        values.setdefault("language", "python")
        return await self.sessions.create(owner, **values)


MakeInstance = Callable[..., Awaitable[Instance]]


async def open_store(url: str) -> Store:
    store = create_store(url)
    await store.open()
    return store


@pytest.fixture(params=["sqlite"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database of this test's own (SQLite; tests that parametrize also run on MongoDB)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'codecrafter.db'}"
    return str(request.getfixturevalue("mongo_url"))


@pytest.fixture
async def make_instance(store_url: str) -> AsyncIterator[MakeInstance]:
    """Makes started instances on the test's database (and the bus given, else in-memory)."""
    made: list[Instance] = []

    async def factory(bus: Bus | None = None) -> Instance:
        store = await open_store(store_url)
        bus = bus or MemoryBus()
        await bus.start()
        rooms = RoomManager(store, bus, instance_id=f"instance-{len(made) + 1}")
        await rooms.start()
        sessions = SessionService(store, rooms, bus)
        made.append(Instance(store, bus, rooms, sessions))
        return made[-1]

    yield factory
    for instance in made:
        await instance.rooms.stop()
        await instance.bus.close()
    if made and isinstance(made[0].store, MongoStore):
        await made[0].store.db.client.drop_database(made[0].store.db.name)
    for instance in made:
        await instance.store.close()


@pytest.fixture
async def instance(make_instance: MakeInstance) -> Instance:
    """One embedded-mode instance: SQLite file, in-process bus."""
    return await make_instance()


Join = Callable[..., Awaitable[Peer]]


@pytest.fixture
async def join() -> AsyncIterator[Join]:
    """``await join(rooms, session, user, role)``: a synced room client as ``user``."""
    joined: list[Peer] = []

    async def connect(rooms: RoomManager, session: Session, user: User, role: SessionRole) -> Peer:
        name = user.id.removeprefix("u-")
        peer = await Peer.join(rooms, session.id, name=name, role=role, kind=session.kind)
        joined.append(peer)
        return peer

    yield connect
    for peer in joined:
        await peer.stop()
