"""A warm pool: kernels started ahead of time, so a new session's first run does not wait
for a sandbox to start.

``WarmSandbox`` wraps any backend. It keeps ``size`` kernels started with the default
limits, hands one to the next session that needs a kernel with those limits (a kernel with
other limits starts as before), and starts a replacement in the background. A pooled kernel
serves exactly one session, then is destroyed like any other: nothing is ever reused across
sessions. Snippets pass through to the backend (Docker keeps spare containers of its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from ... import metrics
from ...store.records import Limits
from .base import KernelSandbox, RunResult, Sandbox
from .languages import Language

log = logging.getLogger("jupyter_codecrafter.worker")

RETRY_S = 5.0  # after a failed start, before the pool tries again


class WarmSandbox(Sandbox):
    def __init__(self, inner: Sandbox, *, size: int, limits: Limits) -> None:
        self.inner = inner
        self.name = inner.name
        self.confined = inner.confined
        self.size = size
        self._limits = limits
        self._ready: list[KernelSandbox] = []
        self._wanted = asyncio.Event()
        self._filler: asyncio.Task[None] | None = None

    @property
    def warm(self) -> int:
        """Kernels ready for the next session."""
        return len(self._ready)

    def start(self) -> None:
        self.inner.start()
        if self.size > 0 and self._filler is None:
            self._filler = asyncio.create_task(self._fill(), name="codecrafter-warm-pool")
            self._wanted.set()

    async def start_kernel(self, limits: Limits) -> KernelSandbox:
        if limits == self._limits:
            while self._ready:
                kernel = self._ready.pop(0)
                metrics.warm_pool_size(len(self._ready))
                self._wanted.set()
                if await kernel.is_alive():
                    return kernel
                await kernel.stop()  # died while waiting: never handed out
        return await self.inner.start_kernel(limits)

    async def _fill(self) -> None:
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            while len(self._ready) < self.size:
                try:
                    self._ready.append(await self.inner.start_kernel(self._limits))
                except Exception:  # the backend is down: try again later, never crash
                    log.warning("warm pool: could not start a kernel", exc_info=True)
                    await asyncio.sleep(RETRY_S)
                metrics.warm_pool_size(len(self._ready))

    async def run(self, language: str, code: str, stdin: str, limits: Limits) -> RunResult:
        return await self.inner.run(language, code, stdin, limits)

    @property
    def language_table(self) -> dict[str, Language]:
        return self.inner.language_table

    async def versions(self) -> dict[str, str]:
        return await self.inner.versions()

    async def close(self) -> None:
        if self._filler is not None:
            self._filler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._filler
        ready, self._ready = self._ready, []
        await asyncio.gather(*(kernel.stop() for kernel in ready))
        await self.inner.close()

    async def reap(self, is_alive: Callable[[str], Awaitable[bool]]) -> int:
        return await self.inner.reap(is_alive)
