"""Readiness: whether the store, the broker, pub/sub and at least one worker answer, and how
fast. The server's ``GET /api/codecrafter/health`` and each worker's ``/health`` report it.

Workers announce themselves in a bus hash (``WORKERS_KEY``: worker id -> time of the last
beat); a worker is live while its last beat is younger than the heartbeat TTL. A server
whose worker runs in its own process (embedded mode) counts that one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from . import metrics
from .bus.base import Bus
from .errors import CodeCrafterError

log = logging.getLogger("jupyter_codecrafter.health")

WORKERS_KEY = "codecrafter:workers"  # a hash: worker id -> unix time of its last beat
CHECK_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class Check:
    ok: bool
    latency_ms: float
    error: str | None = None
    live: int | None = None  # the workers check: how many

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"status": "ok" if self.ok else "error"}
        out["latency_ms"] = round(self.latency_ms, 2)
        if self.error is not None:
            out["error"] = self.error
        if self.live is not None:
            out["live"] = self.live
        return out


@dataclass
class Readiness:
    checks: dict[str, Check] = field(default_factory=dict)
    state: str = "running"  # or "starting", "stopping"

    @property
    def ready(self) -> bool:
        return self.state == "running" and all(c.ok for c in self.checks.values())

    def as_dict(self) -> dict[str, object]:
        status = "ok" if self.ready else (self.state if self.state != "running" else "degraded")
        checks = {name: check.as_dict() for name, check in self.checks.items()}
        return {"status": status, "ready": self.ready, "checks": checks}


async def probe(backend: str, ping: Callable[[], Awaitable[None]]) -> Check:
    """Time one ping of a backend; a failure is counted as a backend error."""
    started = time.perf_counter()
    try:
        await asyncio.wait_for(ping(), timeout=CHECK_TIMEOUT_S)
    except (CodeCrafterError, TimeoutError, OSError) as exc:
        metrics.backend_error(backend)
        return Check(False, _ms_since(started), error=type(exc).__name__)
    return Check(True, _ms_since(started))


async def probe_workers(bus: Bus, ttl_s: float, *, local: bool = False) -> Check:
    """At least one live worker: this process's own, or one with a fresh beat in the bus."""
    started = time.perf_counter()
    try:
        live = await count_live_workers(bus, ttl_s) + (1 if local else 0)
    except (CodeCrafterError, TimeoutError, OSError) as exc:
        metrics.backend_error("pubsub")
        return Check(local, _ms_since(started), error=type(exc).__name__, live=int(local))
    metrics.workers_live(live)
    error = None if live else "No live worker: runs would wait in the queue."
    return Check(live > 0, _ms_since(started), error=error, live=live)


async def count_live_workers(bus: Bus, ttl_s: float) -> int:
    beats = await asyncio.wait_for(bus.hash_get_all(WORKERS_KEY), timeout=CHECK_TIMEOUT_S)
    now = time.time()
    return sum(1 for beat in beats.values() if now - _as_float(beat) < ttl_s)


def _as_float(raw: bytes) -> float:
    try:
        return float(raw)
    except ValueError:
        return 0.0


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000


class WorkerBeacon:
    """A worker process's entry in ``WORKERS_KEY``, renewed every third of the TTL."""

    def __init__(self, bus: Bus, worker_id: str, ttl_s: float) -> None:
        self._bus = bus
        self._id = worker_id
        self._ttl_s = ttl_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.beat()
        self._task = asyncio.create_task(self._loop(), name="codecrafter-worker-beacon")

    async def beat(self) -> None:
        await self._bus.hash_set(
            WORKERS_KEY, self._id, str(time.time()).encode(), ttl_s=self._ttl_s
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(CodeCrafterError):
            await self._bus.hash_delete(WORKERS_KEY, self._id)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_s / 3)
            try:
                await self.beat()
            except CodeCrafterError:  # keep beating through a passing bus outage
                metrics.backend_error("pubsub")
                log.warning("worker heartbeat failed", exc_info=True)
