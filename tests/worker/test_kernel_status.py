"""The kernel state a session's room hears of: changes only, and no busy mark for a cell
that is over before the mark is due (it would only flicker)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.execution.control import KernelStatus, kernel_state_key
from jupyter_codecrafter.rooms.replication import (
    Kind,
    decode_envelope,
    publish_notice,
    room_channel,
)
from jupyter_codecrafter.worker import kernels
from jupyter_codecrafter.worker.kernels import KernelPool
from jupyter_codecrafter.worker.sandbox.process import ProcessSandbox
from tests.worker.conftest import LIMITS

SESSION = "s-status"


class Room:
    """The kernel states a room's clients were told, in order."""

    def __init__(self) -> None:
        self.states: list[str] = []
        self._marked = asyncio.Event()

    async def on_message(self, data: bytes) -> None:
        kind, _, parts = decode_envelope(data)
        if kind is Kind.NOTICE:
            state = json.loads(parts[0])["state"]
            if state == "mark":
                self._marked.set()
            else:
                self.states.append(state)

    async def heard_all(self, bus: MemoryBus) -> list[str]:
        """What the room was told before now (the bus keeps a channel's order)."""
        await publish_notice(bus, SESSION, "test", {"type": "kernel", "state": "mark"})
        async with asyncio.timeout(10):
            await self._marked.wait()
        return self.states


@pytest.fixture
async def pool(process_sandbox: ProcessSandbox) -> AsyncIterator[tuple[KernelPool, MemoryBus]]:
    bus = MemoryBus()
    await bus.start()
    pool = KernelPool(process_sandbox, bus, worker_id="w1", idle_timeout_s=600, owner_ttl_s=30)
    yield pool, bus
    await pool.shutdown()
    await bus.close()


async def run(pool: KernelPool, code: str) -> None:
    async def ignore(_: dict[str, Any]) -> None:
        pass

    await pool.execute(SESSION, LIMITS, code, on_output=ignore, tag="t")


async def status(bus: MemoryBus) -> KernelStatus:
    raw = await bus.get(kernel_state_key(SESSION))
    assert raw is not None
    return KernelStatus.decode(raw)


async def test_a_quick_cell_leaves_the_room_idle_without_a_flicker(
    pool: tuple[KernelPool, MemoryBus], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cell over before the busy mark is due tells the room nothing; the cache still
    records the run as the kernel's last activity."""
    monkeypatch.setattr(kernels, "BUSY_DELAY_S", 5.0)  # "quick", even on a loaded machine
    kernel_pool, bus = pool
    room = Room()
    subscription = await bus.subscribe(room_channel(SESSION), room.on_message)
    await run(kernel_pool, "x = 1")
    before = await status(bus)

    await run(kernel_pool, "print(x)")

    assert await room.heard_all(bus) == ["starting", "idle"]  # the kernel's start only
    await subscription.close()
    after = await status(bus)
    assert after.state == "idle"
    assert after.last_activity_at and before.last_activity_at
    assert after.last_activity_at > before.last_activity_at


async def test_a_cell_still_running_when_the_mark_is_due_shows_busy_then_idle(
    pool: tuple[KernelPool, MemoryBus], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cell still running after the delay is shown busy, then idle once it ends."""
    monkeypatch.setattr(kernels, "BUSY_DELAY_S", 0.05)
    kernel_pool, bus = pool
    room = Room()
    subscription = await bus.subscribe(room_channel(SESSION), room.on_message)

    await run(kernel_pool, "import time; time.sleep(1)")

    assert await room.heard_all(bus) == ["starting", "idle", "busy", "idle"]
    await subscription.close()
