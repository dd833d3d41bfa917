"""Room fixtures: a real SQLite store in a temporary file, real buses, managers to stop."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_codecrafter.bus.base import Bus
from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.rooms.manager import RoomManager
from jupyter_codecrafter.store.base import Store, create_store
from tests.rooms.harness import Peer

ManagerFactory = Callable[..., Awaitable[RoomManager]]
Join = Callable[..., Awaitable[Peer]]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    created = create_store(f"sqlite:///{tmp_path / 'rooms.db'}")
    await created.open()
    yield created
    await created.close()


@pytest.fixture
async def memory_bus() -> AsyncIterator[Bus]:
    bus = MemoryBus()
    await bus.start()
    yield bus
    await bus.close()


@pytest.fixture
async def redis_buses(redis_clean: str, namespace: str) -> AsyncIterator[list[Bus]]:
    """Two RedisBus instances on one namespace: what two server instances have."""
    from jupyter_codecrafter.bus.redis import RedisBus

    buses: list[Bus] = [RedisBus(redis_clean, namespace=namespace) for _ in range(2)]
    for bus in buses:
        await bus.start()
    yield buses
    for bus in buses:
        await bus.close()


@pytest.fixture
async def make_manager(store: Store, memory_bus: Bus) -> AsyncIterator[ManagerFactory]:
    """Makes started managers (the test's store and memory bus unless given); stops them."""
    made: list[RoomManager] = []

    async def factory(**options: Any) -> RoomManager:
        options.setdefault("instance_id", f"instance-{len(made) + 1}")
        manager = RoomManager(
            options.pop("store", store), options.pop("bus", memory_bus), **options
        )
        made.append(manager)
        await manager.start()
        return manager

    yield factory
    for manager in made:
        await manager.stop()


@pytest.fixture
async def join() -> AsyncIterator[Join]:
    """``await join(manager, session_id, name=..., role=...)``: a synced Peer, stopped after."""
    joined: list[Peer] = []

    async def connect(manager: RoomManager, session_id: str, **options: Any) -> Peer:
        peer = await Peer.join(manager, session_id, **options)
        joined.append(peer)
        return peer

    yield connect
    for peer in joined:
        await peer.stop()
