"""Commands a server sends this worker on its bus channel: interrupt or restart a session's
kernel, cancel a job. Each is carried out in a task of its own, so a slow restart does not
hold up the next command."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..bus.base import Bus, Subscription
from ..errors import MalformedMessage
from ..execution.control import Action, WorkerCommand, worker_channel
from ..store.records import Job, JobKind
from .kernels import KernelPool

log = logging.getLogger("jupyter_codecrafter.worker")


class RunningJobs:
    """The jobs this worker is running now, and which of them were cancelled on request."""

    def __init__(self) -> None:
        self._jobs: dict[str, tuple[Job, asyncio.Future[Any]]] = {}
        self._cancelled: set[str] = set()

    def add(self, job: Job, task: asyncio.Future[Any]) -> None:
        self._jobs[job.id] = (job, task)

    def remove(self, job_id: str) -> bool:
        """Forget the job; whether a cancel was asked for it."""
        self._jobs.pop(job_id, None)
        if job_id in self._cancelled:
            self._cancelled.discard(job_id)
            return True
        return False

    def stop_all(self) -> int:
        """Stop every run (this worker is stopping): not cancelled on request, so each
        one's job goes back to the queue for another worker; how many."""
        for _, task in self._jobs.values():
            task.cancel()
        return len(self._jobs)

    async def cancel(self, job_id: str, kernels: KernelPool) -> None:
        """A cell that is executing is interrupted (it ends cancelled, with its outputs so
        far); a cell waiting for its kernel, or a snippet, is stopped where it is."""
        entry = self._jobs.get(job_id)
        if entry is None:
            return
        job, task = entry
        self._cancelled.add(job_id)
        kernel = (
            kernels.get(job.session_id) if job.kind is JobKind.CELL and job.session_id else None
        )
        if kernel is not None and kernel.running == job_id:
            await kernel.interrupt()
        else:
            task.cancel()


class ControlListener:
    def __init__(self, bus: Bus, worker_id: str, kernels: KernelPool, running: RunningJobs) -> None:
        self._bus = bus
        self._worker_id = worker_id
        self._kernels = kernels
        self._running = running
        self._subscription: Subscription | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._subscription = await self._bus.subscribe(worker_channel(self._worker_id), self._on)

    async def stop(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _on(self, data: bytes) -> None:
        try:
            command = WorkerCommand.decode(data)
        except MalformedMessage:
            log.warning("ignoring a malformed worker command")
            return
        task = asyncio.create_task(self._carry_out(command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _carry_out(self, command: WorkerCommand) -> None:
        try:
            if command.action is Action.CANCEL and command.job_id:
                await self._running.cancel(command.job_id, self._kernels)
            elif command.action is Action.INTERRUPT and command.session_id:
                await self._kernels.interrupt(command.session_id)
            elif command.action is Action.RESTART and command.session_id:
                await self._kernels.restart(command.session_id)
        except Exception:  # one failed command must not stop the others
            log.exception("worker command %s failed", command.action)
