"""The warm pool: kernels started ahead for new sessions, each handed out once, refilled."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from jupyter_codecrafter.worker.kernel import Kernel
from jupyter_codecrafter.worker.sandbox.base import Sandbox
from jupyter_codecrafter.worker.sandbox.warm import WarmSandbox
from tests.worker.conftest import LIMITS

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def filled(pool: WarmSandbox, count: int) -> None:
    async with asyncio.timeout(60):
        while pool.warm < count:
            await asyncio.sleep(0.02)


@pytest_asyncio.fixture(loop_scope="module")
async def pool(confined_sandbox: Sandbox) -> AsyncIterator[WarmSandbox]:
    """A pool of one kernel over the module's confined backend; kernels it hands out are the
    test's to stop."""
    warm = WarmSandbox(_Borrowed(confined_sandbox), size=1, limits=LIMITS)
    warm.start()
    yield warm
    await warm.close()


async def test_a_new_session_gets_a_started_kernel_and_the_pool_refills(
    pool: WarmSandbox,
) -> None:
    """A kernel with the pool's limits comes ready from the pool, answers at once, and the
    pool starts a replacement; the next session gets a different kernel."""
    await filled(pool, 1)
    waiting = pool._pool._ready[0]
    first = await pool.start_kernel(LIMITS)
    assert first is waiting and pool.warm == 0
    kernel = await Kernel.start(pool, LIMITS)
    await filled(pool, 1)
    second = await pool.start_kernel(LIMITS)
    try:
        assert second.id != first.id != kernel._kernel.id
        outcome = await kernel.execute(
            "print(6 * 7)", timeout_s=10, output_bytes=1000, on_output=_ignore
        )
        assert outcome.outputs[0]["text"] == "42\n"
    finally:
        await asyncio.gather(first.stop(), second.stop(), kernel.shutdown())


async def test_other_limits_start_a_kernel_of_their_own(pool: WarmSandbox) -> None:
    """A session that asks for other limits is not given a pooled kernel started without them."""
    await filled(pool, 1)
    smaller = dataclasses.replace(LIMITS, memory_mb=128)
    kernel = await pool.start_kernel(smaller)
    try:
        assert pool.warm == 1 and kernel is not pool._pool._ready[0]
    finally:
        await kernel.stop()


async def test_closing_stops_the_waiting_kernels(
    confined_sandbox: Sandbox, runtime_dir: Path
) -> None:
    """Kernels still waiting in the pool are stopped and leave nothing when it closes."""
    before = await asyncio.to_thread(os.listdir, runtime_dir)
    warm = WarmSandbox(_Borrowed(confined_sandbox), size=2, limits=LIMITS)
    warm.start()
    await filled(warm, 2)
    await warm.close()
    assert await asyncio.to_thread(os.listdir, runtime_dir) == before


async def test_closing_while_a_kernel_starts_leaves_nothing(
    confined_sandbox: Sandbox, runtime_dir: Path
) -> None:
    """A worker stopping while its pool starts a kernel waits for that kernel and stops it."""
    before = await asyncio.to_thread(os.listdir, runtime_dir)
    warm = WarmSandbox(_Borrowed(confined_sandbox), size=1, limits=LIMITS)
    warm.start()
    await asyncio.sleep(0)  # the start is under way, not yet done
    await warm.close()
    assert warm.warm == 0
    assert await asyncio.to_thread(os.listdir, runtime_dir) == before


class _Borrowed(WarmSandbox):
    """Passes everything to the module's shared backend, but does not close it."""

    def __init__(self, inner: Sandbox) -> None:
        super().__init__(inner, size=0, limits=LIMITS)

    async def close(self) -> None:
        """The shared backend stays open for the other tests."""


async def _ignore(output: object) -> None:
    del output
