"""Whether a session's kernel still runs, learnt from its heartbeat before asking the sandbox."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
import pytest_asyncio

from jupyter_codecrafter.store.records import JobStatus
from jupyter_codecrafter.worker import kernel as kernel_module
from jupyter_codecrafter.worker.kernel import Kernel
from jupyter_codecrafter.worker.kernel_heartbeat import beats
from jupyter_codecrafter.worker.sandbox._connection import make_client
from jupyter_codecrafter.worker.sandbox.base import Sandbox
from tests.worker.conftest import LIMITS, run

pytestmark = pytest.mark.asyncio(loop_scope="module")

EXITS_SOON = "import os, threading\nthreading.Timer(0.3, os._exit, [3]).start()"


class Asked:
    """Counts the calls of the sandbox's own liveness check (for Docker, an inspect)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, kernel: Kernel) -> None:
        self.calls = 0
        sandbox_kernel = kernel._kernel  # the call under count is the sandbox's
        original: Callable[[], Awaitable[bool]] = sandbox_kernel.is_alive

        async def counted() -> bool:
            self.calls += 1
            return await original()

        monkeypatch.setattr(sandbox_kernel, "is_alive", counted)


@pytest.fixture
def silent_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kernel counts as not heard from lately, so liveness is always asked."""
    monkeypatch.setattr(kernel_module, "HEARD_FRESH_S", 0.0)


@pytest_asyncio.fixture(loop_scope="module")
async def kernel(sandbox: Sandbox) -> AsyncIterator[Kernel]:
    """A kernel of the test's own: each of these stops or ends it."""
    started = await Kernel.start(sandbox, LIMITS)
    yield started
    await started.shutdown()  # idempotent


async def test_a_live_kernel_echoes_its_heartbeat(kernel: Kernel) -> None:
    """A running kernel answers a heartbeat, over the same connection info as its channels."""
    client = make_client(kernel.connection_info, iopub=False)
    try:
        assert await beats(client, timeout_s=5.0)
    finally:
        client.stop_channels()


async def test_a_dead_kernel_gives_no_echo_within_the_timeout(kernel: Kernel) -> None:
    """Once the kernel is stopped nothing answers, and ``beats`` says so after its timeout."""
    client = make_client(kernel.connection_info, iopub=False)
    await kernel.shutdown()
    try:
        started = time.monotonic()
        assert not await beats(client, timeout_s=0.3)
        assert time.monotonic() - started < 2.0
    finally:
        client.stop_channels()


@pytest.mark.usefixtures("silent_at_once")
async def test_a_silent_live_kernel_is_alive_without_asking_the_sandbox(
    kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel not heard from lately is found running by its heartbeat: no sandbox call."""
    asked = Asked(monkeypatch, kernel)
    assert await kernel.check_alive()
    outcome = await run(kernel, "import time; time.sleep(1.2); print('done')")
    assert outcome.status == JobStatus.SUCCEEDED  # silent for longer than POLL_S
    assert asked.calls == 0


@pytest.mark.usefixtures("silent_at_once")
async def test_a_kernel_that_died_while_idle_is_found_dead(
    kernel: Kernel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no echo the sandbox is asked, and a kernel that exited on its own is dead."""
    assert (await run(kernel, EXITS_SOON)).status == JobStatus.SUCCEEDED
    await asyncio.sleep(1.0)
    asked = Asked(monkeypatch, kernel)
    assert not await kernel.check_alive()
    assert asked.calls == 1
