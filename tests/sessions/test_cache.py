"""The session cache: one store read per entry, and a change seen at once everywhere."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from jupyter_codecrafter.bus.base import Bus
from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.errors import BusError
from jupyter_codecrafter.sessions.cache import SessionCache
from jupyter_codecrafter.store.records import Session, SessionRole
from tests.services import free_port
from tests.store import factories


class Source:
    """The store's answer for one collaborator, and how often it was asked."""

    def __init__(self, role: SessionRole | None) -> None:
        self.role = role
        self.reads = 0

    async def load(self) -> SessionRole | None:
        self.reads += 1
        return self.role


@pytest.fixture(params=["memory", "redis"])
async def buses(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[list[Bus]]:
    """The buses of two server instances: one in-process bus, or two Redis connections."""
    if request.param == "memory":
        shared = MemoryBus()
        made: list[Bus] = [shared, shared]
    else:
        from jupyter_codecrafter.bus.redis import RedisBus

        url = request.getfixturevalue("redis_clean")
        made = [RedisBus(url, namespace=namespace) for _ in range(2)]
    for bus in made:
        await bus.start()
    yield made
    for bus in made:
        await bus.close()


async def test_repeated_lookups_read_the_store_once(buses: list[Bus]) -> None:
    """Every instance's lookups after the first are answered by the cache."""
    one, two = SessionCache(buses[0]), SessionCache(buses[1])
    source = Source(SessionRole.WRITE)
    for cache in (one, two, one, two):
        assert await cache.collaborator_role("s", "u", source.load) is SessionRole.WRITE
    assert source.reads == 1


async def test_not_a_collaborator_is_cached_too(buses: list[Bus]) -> None:
    """A stranger's repeated lookups (no role) cost one store read as well."""
    cache = SessionCache(buses[0])
    source = Source(None)
    for _ in range(3):
        assert await cache.collaborator_role("s", "stranger", source.load) is None
    assert source.reads == 1


async def test_change_on_one_instance_is_seen_by_the_other_at_once(buses: list[Bus]) -> None:
    """After instance 1 invalidates, instance 2's very next lookup has the new role."""
    one, two = SessionCache(buses[0]), SessionCache(buses[1])
    source = Source(SessionRole.WRITE)
    assert await two.collaborator_role("s", "u", source.load) is SessionRole.WRITE
    source.role = SessionRole.READ
    await one.invalidate_role("s", "u")
    assert await two.collaborator_role("s", "u", source.load) is SessionRole.READ
    source.role = None
    await two.invalidate_role("s", "u")
    assert await one.collaborator_role("s", "u", source.load) is None


async def test_slow_reader_cannot_put_an_old_role_back(buses: list[Bus]) -> None:
    """A lookup that read the store before a change does not cache what it read."""
    one, two = SessionCache(buses[0]), SessionCache(buses[1])
    read_done, release = asyncio.Event(), asyncio.Event()

    async def slow_old_read() -> SessionRole | None:
        read_done.set()
        await release.wait()
        return SessionRole.ADMIN  # what the store said before the removal

    slow = asyncio.create_task(one.collaborator_role("s", "u", slow_old_read))
    await read_done.wait()
    await two.invalidate_role("s", "u")  # the removal is stored, then invalidated
    release.set()
    assert await slow is SessionRole.ADMIN  # that request was already under way
    source = Source(None)
    assert await one.collaborator_role("s", "u", source.load) is None
    assert await two.collaborator_role("s", "u", source.load) is None


async def test_sessions_are_cached_as_records(buses: list[Bus]) -> None:
    """A cached session comes back equal to the stored one, and invalidates the same way."""
    cache = SessionCache(buses[0])
    stored = factories.session("owner", metadata={"course": "CS101"}, is_public=True)
    reads = []

    async def load() -> Session | None:
        reads.append(1)
        return stored

    assert await cache.session(stored.id, load) == stored
    assert await cache.session(stored.id, load) == stored
    assert len(reads) == 1
    await cache.invalidate_session(stored.id)
    assert await cache.session(stored.id, load) == stored
    assert len(reads) == 2


async def test_unreachable_redis_falls_back_to_the_store() -> None:
    """Without Redis, checks still answer from the store; an invalidation fails loudly."""
    from jupyter_codecrafter.bus.redis import RedisBus

    bus = RedisBus(f"redis://127.0.0.1:{free_port()}/0")
    try:
        cache = SessionCache(bus)
        source = Source(SessionRole.READ)
        assert await cache.collaborator_role("s", "u", source.load) is SessionRole.READ
        with pytest.raises(BusError):
            await cache.invalidate_role("s", "u")
    finally:
        await bus.close()
