"""One stateful kernel per session on this worker, the claim that routes the session's later
cell runs here (a key in the bus cache with a time to live), and the kernel's state as every
collaborator sees it (none, starting, idle, busy, dead). Each kernel has a bridge to the
session's kernel channels (``bridge.py``)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

from .. import metrics
from ..bus.base import Bus
from ..execution.control import KernelState
from ..execution.ownership import KernelOwnership
from ..store.records import Limits
from ..utils import Deferred
from .bridge import KernelBridge
from .kernel import INPUT_TIMEOUT_S, ExecutionOutcome, Kernel, OnOutput
from .kernel_status import KernelAnnouncer
from .sandbox.base import Sandbox

log = logging.getLogger("jupyter_codecrafter.worker")

BUSY_DELAY_S = 0.1  # a busy indicator shown for a quick cell would only flicker


class KernelPool:
    def __init__(
        self,
        sandbox: Sandbox,
        bus: Bus,
        *,
        worker_id: str,
        idle_timeout_s: float,
        owner_ttl_s: float,
        input_timeout_s: float = INPUT_TIMEOUT_S,
    ) -> None:
        self._sandbox = sandbox
        self._bus = bus
        self._worker_id = worker_id
        self._idle_timeout_s = idle_timeout_s
        self._owner_ttl_s = owner_ttl_s
        self._input_timeout_s = input_timeout_s
        self._kernels: dict[str, Kernel] = {}
        self._bridges: dict[str, KernelBridge] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._executing: dict[str, int] = {}  # session id -> executes started, not ended
        self._announcer = KernelAnnouncer(bus, worker_id, ttl_s=owner_ttl_s)
        self._ownership = KernelOwnership(bus, ttl_s=owner_ttl_s)

    def __len__(self) -> int:
        return len(self._kernels)

    async def owner(self, session_id: str) -> str:
        """The worker that owns the session's kernel, claiming it for this one if free."""
        return await self._ownership.claim(session_id, self._worker_id)

    async def take_over(self, session_id: str) -> None:
        """Claim a session whose owner stopped taking its jobs."""
        await self._ownership.take_over(session_id, self._worker_id)

    async def kernel(self, session_id: str, limits: Limits) -> Kernel:
        """The session's live kernel, started (or restarted after a crash) when needed."""
        async with self._locks.setdefault(session_id, asyncio.Lock()):
            kernel = self._kernels.get(session_id)
            if kernel is not None and not await kernel.check_alive():
                log.info("kernel of session %s died; starting a new one", session_id)
                await kernel.shutdown()
                kernel = None
            if kernel is None:
                kernel = await self._start(session_id, limits)
            return kernel

    async def _start(self, session_id: str, limits: Limits) -> Kernel:
        await self._announcer.announce(session_id, KernelState.STARTING, None)
        started = time.monotonic()
        try:
            kernel = await Kernel.start(self._sandbox, limits)
        except BaseException:
            metrics.sandbox_start_failed(self._sandbox.name)
            await self._announcer.announce(session_id, KernelState.DEAD, None)
            raise
        metrics.sandbox_started(self._sandbox.name, time.monotonic() - started)
        kernel.input_timeout_s = self._input_timeout_s
        self._kernels[session_id] = kernel
        await self._open_bridge(session_id, kernel)
        await self._announcer.announce(session_id, KernelState.IDLE, kernel)
        return kernel

    async def _open_bridge(self, session_id: str, kernel: Kernel) -> None:
        """Best effort: without its bridge a kernel still runs cells."""
        await self._close_bridge(session_id)
        bridge = KernelBridge(self._bus, session_id, kernel)
        try:
            await bridge.start()
        except Exception:
            log.warning("no kernel channel for session %s", session_id, exc_info=True)
            await bridge.close()
            return
        self._bridges[session_id] = bridge

    async def _close_bridge(self, session_id: str) -> None:
        bridge = self._bridges.pop(session_id, None)
        if bridge is not None:
            await bridge.close()

    async def execute(
        self,
        session_id: str,
        limits: Limits,
        code: str,
        *,
        on_output: OnOutput,
        tag: str,
        user_id: str | None = None,
        cell_id: str | None = None,
    ) -> ExecutionOutcome:
        """Run a cell in the session's kernel, announcing busy (once it ran for
        ``BUSY_DELAY_S``), then idle (or dead).
        ``input()`` asks ``user_id`` through the session's kernel channels."""
        kernel = await self.kernel(session_id, limits)
        bridge = self._bridges.get(session_id)
        self._executing[session_id] = self._executing.get(session_id, 0) + 1
        busy = Deferred(
            BUSY_DELAY_S, lambda: self._announcer.announce(session_id, KernelState.BUSY, kernel)
        )
        try:
            outcome = await kernel.execute(
                code,
                timeout_s=limits.timeout_s,
                output_bytes=limits.output_bytes,
                on_output=on_output,
                tag=tag,
                user_id=user_id,
                on_input=bridge.input_asker(tag, user_id, cell_id) if bridge else None,
            )
        finally:
            await busy.settle()  # busy announced before idle, or not at all
            await self._after_execute(session_id, kernel)
        if bridge is not None:
            await _quietly(bridge.publish_reply(tag, outcome))
        return outcome

    async def _after_execute(self, session_id: str, kernel: Kernel) -> None:
        left = self._executing[session_id] = self._executing.get(session_id, 1) - 1
        if not kernel.is_alive or not await kernel.check_alive():
            await self._announcer.announce(session_id, KernelState.DEAD, kernel)
        elif left == 0:  # later cells of the session keep it busy
            await self._announcer.announce(session_id, KernelState.IDLE, kernel)

    def get(self, session_id: str) -> Kernel | None:
        """The session's kernel on this worker, if any."""
        return self._kernels.get(session_id)

    async def interrupt(self, session_id: str) -> None:
        kernel = self._kernels.get(session_id)
        if kernel is not None:
            await kernel.interrupt()

    async def restart(self, session_id: str) -> None:
        """A fresh kernel in place of the session's: its variables are gone."""
        kernel = self._kernels.get(session_id)
        if kernel is None:
            return
        await self._announcer.announce(session_id, KernelState.STARTING, kernel)
        try:
            await kernel.restart()
            bridge = self._bridges.get(session_id)
            if bridge is not None:
                await bridge.reconnect()
        finally:
            state = KernelState.IDLE if kernel.is_alive else KernelState.DEAD
            await self._announcer.announce(session_id, state, kernel)

    async def heartbeat(self) -> None:
        """Renew the claims (and announced states) of every session with a kernel here."""
        for session_id in list(self._kernels):
            await self._announcer.renew(session_id)
            await self._ownership.renew(session_id, self._worker_id)

    async def cull_idle(self) -> None:
        now = time.monotonic()
        for session_id, kernel in list(self._kernels.items()):
            if now - kernel.last_used > self._idle_timeout_s:
                log.info("shutting down idle kernel of session %s", session_id)
                await self.release(session_id)

    async def release(self, session_id: str) -> None:
        kernel = self._kernels.pop(session_id, None)
        self._locks.pop(session_id, None)
        await self._close_bridge(session_id)
        if kernel is not None:
            await kernel.shutdown()
        await self._ownership.release(session_id)
        await self._announcer.announce(session_id, KernelState.NONE, None)

    async def shutdown(self) -> None:
        for session_id in list(self._kernels):
            await self.release(session_id)


async def _quietly(publishing: Awaitable[None]) -> None:
    """A reply a client may be waiting for; a bus outage costs it, never the run."""
    try:
        await publishing
    except Exception:
        log.warning("could not publish a run's reply to its kernel channel", exc_info=True)
