"""Bus fixtures: each bus under test, and a private Redis a test may kill or restart."""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from jupyter_codecrafter.bus.base import Bus
from jupyter_codecrafter.bus.memory import MemoryBus
from tests.services import free_port, unavailable, wait_for_port

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


class RedisServer:
    """A redis-server of the test's own, on a free port, that the test may stop and restart."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._proc = None


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis only this test uses, so killing its clients or restarting it harms no one."""
    try:
        subprocess.run(["redis-server", "--version"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        unavailable("redis-server", str(exc))
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
