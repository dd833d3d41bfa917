"""The composition root: builds every backend and service from the settings, starts and
stops them in order. The extension app and the tests use it; nothing else wires things."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from . import metrics
from .accounts.passwords import Passwords
from .accounts.service import AccountService
from .accounts.tokens import AccessTokens
from .activity import ActivityLog, Housekeeping
from .bus.base import Bus, create_bus
from .config import CodeCrafterSettings
from .demo import Demo, prepare_demo
from .errors import CodeCrafterError
from .execution.kernelchannel import KernelChannels
from .execution.kernels import KernelControl
from .execution.limits import LimitPolicy
from .execution.queue._options import QueueOptions
from .execution.queue.base import JobQueue, create_queue
from .execution.service import ExecutionService
from .execution.writer import OutputWriter
from .health import Readiness, probe, probe_workers
from .lifecycle import InFlightJobs, InFlightRequests, connect_with_retries
from .ratelimit import RateLimiter, SignInLimits, rules_from_settings
from .rooms.manager import RoomManager
from .sessions.service import SessionService
from .store.base import Store, create_store
from .utils import new_id
from .worker.worker import Worker, create_worker

log = logging.getLogger("jupyter_codecrafter")


@dataclass
class Services:
    settings: CodeCrafterSettings
    instance_id: str
    store: Store
    bus: Bus
    queue: JobQueue
    rooms: RoomManager
    accounts: AccountService
    sessions: SessionService
    execution: ExecutionService
    kernels: KernelControl
    kernel_channels: KernelChannels
    limiter: RateLimiter
    housekeeping: Housekeeping
    in_flight: InFlightJobs
    worker: Worker | None = None
    demo: Demo | None = None  # the demo account, on a demo server (demo_username)
    requests: InFlightRequests = field(default_factory=InFlightRequests)
    state: str = "starting"  # then "running", "stopping"
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: set[asyncio.Future[Any]] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings: CodeCrafterSettings) -> Services:
        instance_id = new_id()[:12]
        store = create_store(settings.store_url)
        bus = create_bus(settings.redis_url or None, namespace=settings.namespace)
        queue = create_queue(settings.broker_url, QueueOptions.from_settings(settings))
        rooms = RoomManager(
            store, bus, instance_id=instance_id, idle_unload_s=settings.room_idle_unload_s
        )
        activity = ActivityLog(store)
        limiter = RateLimiter(
            rules_from_settings(settings),
            redis_url=settings.redis_url,
            namespace=settings.namespace,
        )
        accounts = AccountService(
            store,
            Passwords(
                time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib
            ),
            AccessTokens(
                settings.resolved_jwt_secret(),
                ttl_s=settings.access_token_ttl_s,
                leeway_s=settings.jwt_leeway_s,
            ),
            activity,
            refresh_ttl_s=settings.refresh_token_ttl_s,
            max_preferences_bytes=settings.max_preferences_bytes,
            sign_in_limits=SignInLimits(limiter),
        )
        sessions = SessionService(store, rooms, bus)
        worker = create_worker(settings, store, queue, bus) if embedded(settings) else None
        languages = worker.languages if worker else tuple(settings.languages)
        in_flight = InFlightJobs(queue, store)
        execution = ExecutionService(
            store,
            in_flight,
            bus,
            sessions,
            OutputWriter(rooms, store),
            instance_id=instance_id,
            limits=LimitPolicy(settings.default_limits(), settings.language_limits),
            languages=languages,
            confined=worker.confined if worker else None,
            unconfined_for_everyone=settings.dangerously_allow_unconfined_runs,
        )
        housekeeping = Housekeeping(store, activity, interval_s=settings.activity_purge_interval_s)
        kernels = KernelControl(bus, sessions)
        channels = KernelChannels(
            bus, sessions, execution, kernels, limiter, max_code_bytes=settings.max_code_bytes
        )
        return cls(
            settings,
            instance_id,
            store,
            bus,
            queue,
            rooms,
            accounts,
            sessions,
            execution,
            kernels,
            channels,
            limiter,
            housekeeping,
            in_flight,
            worker,
        )

    async def start(self) -> None:
        """Connect the backends (retrying while they come up), then start taking work."""
        self._prepare_metrics()
        await self._connect()
        await self.accounts.promote_admins(self.settings.admin_usernames)
        if self.settings.demo_username:
            self.demo = await prepare_demo(
                self.accounts,
                self.sessions,
                self.settings.demo_username,
                self.settings.demo_notebook,
            )
        self.housekeeping.start()
        await self.rooms.start()
        await self.execution.start()
        if self.worker is not None:
            await self.worker.start()
        self.keep(asyncio.ensure_future(self._sample_forever()))
        self.state = "running"
        self._ready.set()
        log.info(
            "CodeCrafter started (instance %s, store %s, broker %s, sandbox %s)",
            self.instance_id,
            self.settings.store_url.split(":", 1)[0],
            self.settings.broker_url.split(":", 1)[0],
            self.worker.sandbox_name if self.worker else "on the workers",
        )

    async def _connect(self) -> None:
        timeout_s = self.settings.backend_connect_timeout_s
        for name, connect in (
            ("store", self.store.open),
            ("Redis (redis_url)", self.bus.start),
            ("rate-limit counters (redis_url)", self.limiter.start),
            ("broker (broker_url)", self.queue.start),
        ):
            await connect_with_retries(name, connect, timeout_s=timeout_s)

    def _prepare_metrics(self) -> None:
        from .api import metric_routes

        worker = self.worker
        metrics.prepare(
            routes=metric_routes(),
            languages=self.execution.languages,
            sandboxes=[worker.sandbox_name] if worker else [],
            rules=self.limiter.rules,
        )
        metrics.watch_rooms(lambda: rooms_snapshot(self.rooms))

    async def stop(self) -> None:
        """SIGTERM: no new work; the runs queued here finish and their outputs are written,
        requests being answered finish (each bounded by shutdown_timeout_s); room clients
        are told to reconnect elsewhere (1012) and the rooms flushed; then backends close."""
        self.state = "stopping"
        await self.in_flight.drain(self.settings.shutdown_timeout_s)
        await self.execution.stop()
        await self.requests.finished(self.settings.shutdown_timeout_s)
        if self.worker is not None:
            await self.worker.stop()
        await self.rooms.stop()
        for task in list(self._tasks):
            task.cancel()
        for close in (
            self.queue.close,
            self.bus.close,
            self.housekeeping.stop,
            self.limiter.close,
            self.store.close,
        ):
            await _quietly(close)
        log.info("CodeCrafter stopped (instance %s)", self.instance_id)

    async def ready(self) -> None:
        await self._ready.wait()

    def keep(self, task: asyncio.Future[Any]) -> None:
        """Hold a reference to a background task until it ends."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def readiness(self) -> Readiness:
        """Each backend's answer and latency, and whether a worker is live."""
        ttl_s = self.settings.worker_heartbeat_ttl_s
        store, broker, pubsub, workers = await asyncio.gather(
            probe("store", self.store.ping),
            probe("broker", self.queue.ping),
            probe("pubsub", self.bus.ping),
            probe_workers(self.bus, ttl_s, local=self.worker is not None),
        )
        checks = {"store": store, "broker": broker, "pubsub": pubsub, "workers": workers}
        return Readiness(checks, state=self.state)

    async def _sample_forever(self, interval_s: float = 5.0) -> None:
        """Gauges that need a backend call: queue depth, live workers, kernels here."""
        while True:
            with contextlib.suppress(CodeCrafterError, TimeoutError, OSError):
                metrics.queue_depth(await self.queue.pending())
                await probe_workers(
                    self.bus, self.settings.worker_heartbeat_ttl_s, local=self.worker is not None
                )
            if self.worker is not None:
                metrics.kernels_running(len(self.worker.kernels))
            await asyncio.sleep(interval_s)


async def _quietly(close: Callable[[], Awaitable[None]]) -> None:
    """Close one backend; a backend already gone must not keep the others open."""
    try:
        await close()
    except Exception as exc:  # shutting down: report and go on
        log.warning("Closing %s failed: %s", getattr(close, "__qualname__", close), exc)


def rooms_snapshot(rooms: RoomManager) -> metrics.RoomsSnapshot:
    stats = rooms.stats()
    users: set[str] = set()
    for entry in stats:
        room = rooms.room(entry.session_id)
        if room is not None:
            users.update(channel.identity.user_id for channel in room.channels)
    return metrics.RoomsSnapshot(
        loaded=len(stats),
        connections=sum(entry.connections for entry in stats),
        users=len(users),
        document_bytes=sum(entry.doc_size_bytes for entry in stats),
    )


def embedded(settings: CodeCrafterSettings) -> bool:
    """With the in-process queue the worker must run in this process too."""
    return settings.broker_url.startswith("memory:")
