"""One stateful kernel per session on this worker, and the claim that routes the
session's later cell runs here (a key in the bus cache with a time to live)."""

from __future__ import annotations

import asyncio
import logging
import time

from ..bus.base import Bus
from ..constants import KERNEL_OWNER_KEY_PREFIX
from ..store.records import Limits
from .kernel import Kernel
from .sandbox.base import Sandbox

log = logging.getLogger("jupyter_codecrafter.worker")


class KernelPool:
    def __init__(
        self,
        sandbox: Sandbox,
        bus: Bus,
        *,
        worker_id: str,
        idle_timeout_s: float,
        owner_ttl_s: float,
    ) -> None:
        self._sandbox = sandbox
        self._bus = bus
        self._worker_id = worker_id
        self._idle_timeout_s = idle_timeout_s
        self._owner_ttl_s = owner_ttl_s
        self._kernels: dict[str, Kernel] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def __len__(self) -> int:
        return len(self._kernels)

    async def owner(self, session_id: str) -> str:
        """The worker that owns the session's kernel, claiming it for this one if free."""
        key = KERNEL_OWNER_KEY_PREFIX + session_id
        for _ in range(2):  # the claim may expire between the two calls: look twice
            if await self._bus.set_if_absent(
                key, self._worker_id.encode(), ttl_s=self._owner_ttl_s
            ):
                return self._worker_id
            current = await self._bus.get(key)
            if current is not None:
                return current.decode()
        return self._worker_id

    async def take_over(self, session_id: str) -> None:
        """Claim a session whose owner stopped taking its jobs."""
        key = KERNEL_OWNER_KEY_PREFIX + session_id
        await self._bus.set(key, self._worker_id.encode(), ttl_s=self._owner_ttl_s)

    async def kernel(self, session_id: str, limits: Limits) -> Kernel:
        """The session's live kernel, started (or restarted after a crash) when needed."""
        async with self._locks.setdefault(session_id, asyncio.Lock()):
            kernel = self._kernels.get(session_id)
            if kernel is not None and not await kernel.check_alive():
                log.info("kernel of session %s died; starting a new one", session_id)
                await kernel.shutdown()
                kernel = None
            if kernel is None:
                kernel = await Kernel.start(self._sandbox, limits)
                self._kernels[session_id] = kernel
            return kernel

    async def heartbeat(self) -> None:
        """Renew the claims of every session with a kernel here."""
        for session_id in list(self._kernels):
            key = KERNEL_OWNER_KEY_PREFIX + session_id
            if not await self._bus.expire(key, self._owner_ttl_s):
                await self._bus.set_if_absent(
                    key, self._worker_id.encode(), ttl_s=self._owner_ttl_s
                )

    async def cull_idle(self) -> None:
        now = time.monotonic()
        for session_id, kernel in list(self._kernels.items()):
            if now - kernel.last_used > self._idle_timeout_s:
                log.info("shutting down idle kernel of session %s", session_id)
                await self.release(session_id)

    async def release(self, session_id: str) -> None:
        kernel = self._kernels.pop(session_id, None)
        self._locks.pop(session_id, None)
        if kernel is not None:
            await kernel.shutdown()
        await self._bus.delete(KERNEL_OWNER_KEY_PREFIX + session_id)

    async def shutdown(self) -> None:
        for session_id in list(self._kernels):
            await self.release(session_id)
