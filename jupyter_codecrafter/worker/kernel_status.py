"""Announcing each session kernel's state: in the bus cache, where ``GET /sessions/{id}/kernel``
reads it, and to the session's room, where every open notebook shows it at once."""

from __future__ import annotations

import logging

from ..bus.base import Bus
from ..execution.control import KernelState, KernelStatus, kernel_state_key
from ..rooms.replication import publish_notice
from ..utils import utcnow
from .kernel import Kernel

log = logging.getLogger("jupyter_codecrafter.worker")


class KernelAnnouncer:
    def __init__(self, bus: Bus, worker_id: str, *, ttl_s: float) -> None:
        self._bus = bus
        self._worker_id = worker_id
        self._ttl_s = ttl_s
        self._shown: dict[str, KernelState] = {}  # session -> the state its room was told

    async def announce(self, session_id: str, state: KernelState, kernel: Kernel | None) -> None:
        """Best effort: a bus outage costs a stale indicator, never a run. The room hears of
        changes only; the cache also keeps the last activity."""
        status = self.status(state, kernel)
        try:
            if state is KernelState.NONE:
                await self._bus.delete(kernel_state_key(session_id))
            else:
                await self._bus.set(
                    kernel_state_key(session_id), status.encode(), ttl_s=self._ttl_s
                )
            if self._shown.get(session_id) is not state:
                await publish_notice(
                    self._bus, session_id, self._worker_id, {"type": "kernel", **status.to_json()}
                )
                self._shown[session_id] = state
        except Exception:
            log.warning("could not announce the kernel of session %s", session_id, exc_info=True)
        if state is KernelState.NONE:
            self._shown.pop(session_id, None)

    def status(self, state: KernelState, kernel: Kernel | None) -> KernelStatus:
        if state is KernelState.NONE:
            return KernelStatus(state)
        started_at = kernel.started_at if kernel is not None else None
        return KernelStatus(state, self._worker_id, started_at, utcnow())

    async def renew(self, session_id: str) -> None:
        await self._bus.expire(kernel_state_key(session_id), self._ttl_s)
