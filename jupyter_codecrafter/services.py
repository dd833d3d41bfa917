"""The composition root: builds every backend and service from the settings, starts and
stops them in order. The extension app and the tests use it; nothing else wires things."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from .accounts.passwords import Passwords
from .accounts.service import AccountService
from .accounts.tokens import AccessTokens
from .activity import ActivityLog, Housekeeping
from .bus.base import Bus, create_bus
from .config import CodeCrafterSettings
from .errors import CodeCrafterError
from .execution.kernels import KernelControl
from .execution.queue._options import QueueOptions
from .execution.queue.base import JobQueue, create_queue
from .execution.service import ExecutionService
from .execution.writer import OutputWriter
from .ratelimit import RateLimiter, rules_from_settings
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
    limiter: RateLimiter
    housekeeping: Housekeeping
    worker: Worker | None = None
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
        )
        sessions = SessionService(store, rooms, bus)
        worker = create_worker(settings, store, queue, bus) if embedded(settings) else None
        languages = worker.languages if worker else tuple(settings.languages)
        execution = ExecutionService(
            store,
            queue,
            bus,
            sessions,
            OutputWriter(rooms),
            instance_id=instance_id,
            limits=settings.default_limits(),
            languages=languages,
            confined=worker.confined if worker else None,
            unconfined_for_everyone=settings.dangerously_allow_unconfined_runs,
        )
        limiter = RateLimiter(
            rules_from_settings(settings),
            redis_url=settings.redis_url,
            namespace=settings.namespace,
        )
        housekeeping = Housekeeping(store, activity, interval_s=settings.activity_purge_interval_s)
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
            KernelControl(bus, sessions),
            limiter,
            housekeeping,
            worker,
        )

    async def start(self) -> None:
        await self.store.open()
        await self.accounts.promote_admins(self.settings.admin_usernames)
        self.housekeeping.start()
        await self.bus.start()
        await self.queue.start()
        await self.rooms.start()
        await self.execution.start()
        if self.worker is not None:
            await self.worker.start()
        self._ready.set()
        log.info(
            "CodeCrafter started (instance %s, store %s, broker %s, sandbox %s)",
            self.instance_id,
            self.settings.store_url.split(":", 1)[0],
            self.settings.broker_url.split(":", 1)[0],
            self.worker.sandbox_name if self.worker else "on the workers",
        )

    async def stop(self) -> None:
        """Stop taking work, finish what is in flight, then close the backends."""
        if self.worker is not None:
            await self.worker.stop()
        await self.rooms.stop()
        await self.queue.close()
        await self.bus.close()
        await self.housekeeping.stop()
        await self.limiter.close()
        await self.store.close()

    async def ready(self) -> None:
        await self._ready.wait()

    def keep(self, task: asyncio.Future[Any]) -> None:
        """Hold a reference to a background task until it ends."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def health(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        for name, backend in (("store", self.store), ("bus", self.bus), ("queue", self.queue)):
            try:
                await asyncio.wait_for(backend.ping(), timeout=5)
                checks[name] = "ok"
            except (CodeCrafterError, TimeoutError) as exc:
                checks[name] = f"error: {type(exc).__name__}"
        return checks


def embedded(settings: CodeCrafterSettings) -> bool:
    """With the in-process queue the worker must run in this process too."""
    return settings.broker_url.startswith("memory:")
