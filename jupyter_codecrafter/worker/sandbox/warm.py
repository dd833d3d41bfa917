"""A warm pool: kernels started ahead of time, so a new session's first run does not wait
for a sandbox to start.

``WarmSandbox`` wraps any backend. It keeps ``size`` kernels started with the default
limits, hands one to the next session that needs a kernel with those limits (a kernel with
other limits starts as before), and starts a replacement in the background. A pooled kernel
serves exactly one session, then is destroyed like any other: nothing is ever reused across
sessions. Snippets pass through to the backend (Docker keeps spare containers of its own).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ... import metrics
from ...store.records import Limits
from .base import KernelSandbox, RunResult, Sandbox
from .languages import Language
from .refill import Refill


class WarmSandbox(Sandbox):
    def __init__(self, inner: Sandbox, *, size: int, limits: Limits) -> None:
        self.inner = inner
        self.name = inner.name
        self.confined = inner.confined
        self.size = size
        self._limits = limits
        self._pool: Refill[KernelSandbox] = Refill(
            lambda: inner.start_kernel(limits),
            lambda kernel: kernel.stop(),
            size=size,
            parallel=1,  # kernels start while runs go on: one at a time leaves them the cores
            what="warm kernel",
            on_change=metrics.warm_pool_size,
        )

    @property
    def warm(self) -> int:
        """Kernels ready for the next session."""
        return self._pool.ready

    def start(self) -> None:
        self.inner.start()
        self._pool.start()

    async def start_kernel(self, limits: Limits) -> KernelSandbox:
        if limits == self._limits:
            while (kernel := self._pool.take()) is not None:
                if await kernel.is_alive():
                    return kernel
                await kernel.stop()  # died while waiting: never handed out
        return await self.inner.start_kernel(limits)

    async def run(self, language: str, code: str, stdin: str, limits: Limits) -> RunResult:
        return await self.inner.run(language, code, stdin, limits)

    @property
    def language_table(self) -> dict[str, Language]:
        return self.inner.language_table

    async def versions(self) -> dict[str, str]:
        return await self.inner.versions()

    async def close(self) -> None:
        await self._pool.close()  # also waits for a kernel being started, and stops it
        await self.inner.close()

    async def reap(self, is_alive: Callable[[str], Awaitable[bool]]) -> int:
        return await self.inner.reap(is_alive)
