"""Bus fixtures: each bus under test (a private Redis is in the root conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from jupyter_codecrafter.bus.base import Bus
from jupyter_codecrafter.bus.memory import MemoryBus

BusFactory = Callable[[], Bus]


@pytest.fixture(params=["memory", "redis"])
async def make_bus(request: pytest.FixtureRequest, namespace: str) -> AsyncIterator[BusFactory]:
    """Makes buses that share one backend: one MemoryBus, or RedisBuses on one namespace."""
    made: list[Bus] = []
    if request.param == "memory":
        shared = MemoryBus()

        def factory() -> Bus:
            made.append(shared)
            return shared
    else:
        url = request.getfixturevalue("redis_url")
        from jupyter_codecrafter.bus.redis import RedisBus

        def factory() -> Bus:
            made.append(RedisBus(url, namespace=namespace))
            return made[-1]

    yield factory
    for bus in made:
        await bus.close()


@pytest.fixture
async def bus(make_bus: BusFactory) -> Bus:
    created = make_bus()
    await created.start()
    return created
