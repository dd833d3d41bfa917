"""The worker: takes jobs from the queue, runs them, saves the result, then acknowledges.

Cell runs go to the session's stateful kernel (owned by one worker, see ``kernels.py``),
one at a time per session in the order they were queued (``turns.py``); snippet runs get a
fresh sandbox each. Events stream back to the server instance that queued the job, which
writes them into the shared notebook (``emitter.py``). Every so often the worker hands back
the jobs of workers that are gone (``execution/reaper.py``).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from .. import metrics
from ..bus.base import Bus
from ..config import CodeCrafterSettings
from ..constants import DEFAULT_WORKER_HEARTBEAT_TTL_S
from ..errors import SandboxRequired
from ..execution.events import EventType, JobEvent
from ..execution.queue.base import Delivery, JobMessage, JobQueue
from ..execution.reaper import Reaper
from ..logs import set_request_id
from ..store.base import Store
from ..store.records import Job, JobKind, JobStatus
from ..utils import cancel_and_wait, new_id, utcnow
from .announce import announce_languages
from .control import ControlListener, RunningJobs
from .emitter import Emitter
from .fairness import Rotations, UserSlots
from .kernels import KernelPool
from .liveness import Liveness
from .runs import RunOutcome, run_cell, run_snippet
from .sandbox import choose_sandbox, create_sandbox
from .sandbox.base import Sandbox
from .sandbox.warm import WarmSandbox
from .turns import Turns

log = logging.getLogger("jupyter_codecrafter.worker")

# A snippet sent to the back of the queue a second time in a row waits this long first: the
# queue went round without another user's run, and must not spin through the broker.
ROTATE_PAUSE_S = 0.05


class Worker:
    def __init__(
        self,
        store: Store,
        queue: JobQueue,
        bus: Bus,
        sandbox: Sandbox,
        *,
        worker_id: str | None = None,
        concurrency: int = 4,
        kernel_idle_timeout_s: float = 1800.0,
        kernel_input_timeout_s: float = 300.0,
        heartbeat_ttl_s: float = DEFAULT_WORKER_HEARTBEAT_TTL_S,
        runs_per_user: int = 0,
        stop_grace_s: float = 45.0,
    ) -> None:
        self.id = worker_id or new_worker_id()
        self._slots = UserSlots(bus, cap=runs_per_user)
        self._rotations = Rotations()
        self._store = store
        self._queue = queue
        self._bus = bus
        self._sandbox = sandbox
        self._concurrency = concurrency
        self._liveness = Liveness(bus, self.id, ttl_s=heartbeat_ttl_s)
        self.kernels = KernelPool(
            sandbox,
            bus,
            worker_id=self.id,
            idle_timeout_s=kernel_idle_timeout_s,
            owner_ttl_s=heartbeat_ttl_s,
            input_timeout_s=kernel_input_timeout_s,
        )
        self._running = RunningJobs()
        self._control = ControlListener(bus, self.id, self.kernels, self._running)
        self._turns = Turns()
        self._reaper = Reaper(bus, queue, self.id, ttl_s=heartbeat_ttl_s)
        self._stop_grace_s = stop_grace_s
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._maintenance: asyncio.Task[None] | None = None

    @property
    def languages(self) -> tuple[str, ...]:
        return self._sandbox.languages

    @property
    def confined(self) -> bool:
        return self._sandbox.confined

    @property
    def sandbox_name(self) -> str:
        return self._sandbox.name

    async def start(self) -> None:
        await self._liveness.beat()
        await self._reaper.beat()
        await self._reap()
        await self._control.start()
        self._sandbox.start()
        await self._queue.consume(self.id, self._handle, prefetch=self._concurrency)
        await self._queue.consume_dead_letters(self._dead_letter)
        self._maintenance = asyncio.create_task(self._maintain())
        log.info(
            "worker %s consuming (%s sandbox, %d at once)",
            self.id,
            self._sandbox.name,
            self._concurrency,
        )

    async def stop(self) -> None:
        """Graceful: take no new job (those delivered but not started go back), let runs in
        flight finish for up to ``stop_grace_s`` (then stop them: their jobs go back too),
        stop the kernels, hand back the jobs waiting for this worker, remove its sandboxes."""
        await self._queue.stop_consuming()
        await self._finish_or_hand_back()
        if self._maintenance is not None:
            await cancel_and_wait([self._maintenance])
        await self._control.stop()
        await self.kernels.shutdown()  # servers route this worker's sessions elsewhere now
        await self._hand_back_own()
        await self._sandbox.close()
        await self._liveness.stop()
        await self._reaper.leave()

    async def _finish_or_hand_back(self) -> None:
        try:
            await asyncio.wait_for(self._idle.wait(), self._stop_grace_s)
        except TimeoutError:
            stopped = self._running.stop_all()
            log.warning("stopping %d runs still going; their jobs go back to the queue", stopped)
            await self._idle.wait()

    async def _hand_back_own(self) -> None:
        try:
            moved = await self._queue.hand_back(self.id)
        except Exception:  # the broker is away: they move on once this queue's TTL passes
            log.warning("could not hand back the jobs queued for this worker", exc_info=True)
            return
        if moved:
            log.info("handed back %d jobs queued for this worker", moved)

    async def run_burst(self, *, poll_s: float = 0.05) -> None:
        """Start, work until the queue is empty and nothing runs, then stop (for tests, CI)."""
        await self.start()
        # The broker has no "queue drained" event to wait on: poll it.
        while await self._queue.pending() or self._in_flight:  # noqa: ASYNC110
            await asyncio.sleep(poll_s)
        await self.stop()

    async def _handle(self, delivery: Delivery) -> None:
        self._in_flight += 1
        self._idle.clear()
        message = delivery.message
        try:
            if message.kind == JobKind.CELL and message.session_id:
                if self._turns.taken(message.session_id):
                    delivery.begun()  # it waits for the run before it, not for the server
                async with self._turns.turn(message.session_id):  # ticket taken right here
                    await self._process(delivery)
            else:
                await self._process(delivery)
        finally:
            self._in_flight -= 1
            if not self._in_flight:
                self._idle.set()

    async def _process(self, delivery: Delivery) -> None:
        message = delivery.message
        set_request_id(message.request_id)
        if not self._sandbox.confined and not message.unconfined_ok:
            await self._refuse_unconfined(message)
            return
        if not await self._runs_here(message, delivery.delivery_count):
            return
        capped = message.kind == JobKind.SNIPPET and self._slots.cap > 0
        if capped and not await self._take_slot(message):
            return
        try:
            await self._start_and_run(message, delivery.begun)
        finally:
            if capped:
                await self._slots.release(message.user_id, message.job_id)

    async def _take_slot(self, message: JobMessage) -> bool:
        """A slot of the user's share, or the message goes to the back of the queue."""
        job = await self._store.jobs.get(message.job_id)
        if job is None or job.status.is_final:
            return True  # nothing will run: let it through to be skipped
        longest_s = job.limits.timeout_s + job.limits.compile_timeout_s
        if await self._slots.acquire(job.user_id, job.id, longest_s=longest_s):
            return True
        if self._rotations.went_round(job.id):
            await asyncio.sleep(ROTATE_PAUSE_S)  # only this user's runs wait: no hot loop
        await self._queue.enqueue(message)
        return False

    async def _start_and_run(self, message: JobMessage, begun: Callable[[], None]) -> None:
        job = await self._store.jobs.start(message.job_id, self.id, utcnow())
        if job is None:
            return  # missing or already final (cancelled, or finished before a redelivery)
        emit = Emitter(self._queue, message.reply_to, job, job.attempts)
        if job.kind is JobKind.CELL:
            emit.start_soon()
        else:  # nothing of a snippet is written into a notebook: nothing to save
            await emit(JobEvent(EventType.STARTED, job.id, attempt=job.attempts))
        try:
            outcome = await self._run_cancellable(job, emit, begun)
        finally:
            emit.cancel_start()
        finished = await self._store.jobs.finish(job.id, outcome.status, outcome.fields())
        if finished is not None:
            metrics.job_finished(finished)
            await emit(
                JobEvent(
                    EventType.FINISHED,
                    job.id,
                    status=str(finished.status),
                    execution_count=finished.execution_count,
                )
            )

    async def _runs_here(self, message: JobMessage, delivery_count: int) -> bool:
        """Whether this worker runs the job; if not, it went to the owner of its kernel."""
        if message.kind != JobKind.CELL or not message.session_id:
            return True
        owner = await self.kernels.owner(message.session_id)
        if owner == self.id:
            return True
        # Back from the owner's queue, redelivered (its holder died), or an owner without a
        # heartbeat: the owner is gone, and its kernel's state with it.
        if (
            message.routed_to == owner
            or delivery_count > 1
            or not await self._liveness.is_alive(owner)
        ):
            log.info("worker %s is gone; taking session %s over", owner, message.session_id)
            await self.kernels.take_over(message.session_id)
            return True
        # Acknowledged only once the owner's queue has it.
        await self._queue.enqueue(replace(message, routed_to=owner), worker_id=owner)
        return False

    async def _run_cancellable(
        self, job: Job, emit: Callable[[JobEvent], Awaitable[None]], begun: Callable[[], None]
    ) -> RunOutcome:
        """The job's result, or cancelled when a server asked (see control.py)."""
        task = asyncio.ensure_future(self._run(job, emit))
        # After the task: in process, its first step (up to the kernel) goes before the
        # server's answer to the request that queued it (see queue/base.py).
        begun()
        self._running.add(job, task)
        try:
            return await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if not self._running.remove(job.id) or (current and current.cancelling()):
                raise  # this worker is being stopped, not the job
            return RunOutcome(JobStatus.CANCELLED, error="Cancelled.")
        finally:
            self._running.remove(job.id)

    async def _run(self, job: Job, emit: Callable[[JobEvent], Awaitable[None]]) -> RunOutcome:
        async def on_output(output: dict[str, Any]) -> None:
            await emit(JobEvent(EventType.OUTPUT, job.id, output=output))

        try:
            if job.kind is JobKind.CELL:
                return await run_cell(self.kernels, job, on_output)
            return await run_snippet(self._sandbox, job, on_output)
        except Exception as exc:  # any failure of ours must still end the job, not hang it
            log.exception("job %s failed inside the worker", job.id)
            return RunOutcome(JobStatus.INTERNAL_ERROR, error=type(exc).__name__)

    async def _refuse_unconfined(self, message: JobMessage) -> None:
        """A job this worker's unconfined sandbox may not run: it fails with the reason."""
        reason = SandboxRequired().message
        output: dict[str, Any] = {
            "output_type": "error",
            "ename": "SandboxRequired",
            "evalue": reason,
            "traceback": [reason],
        }
        fields = {"error": reason, "outputs": [output], "finished_at": utcnow()}
        job = await self._store.jobs.finish(message.job_id, JobStatus.FAILED, fields)
        if job is not None:
            emit = Emitter(self._queue, message.reply_to, job, job.attempts + 1)
            await emit(JobEvent(EventType.OUTPUT, job.id, output=output))
            await emit(JobEvent(EventType.FINISHED, job.id, status=str(job.status)))

    async def _dead_letter(self, message: JobMessage) -> None:
        """A job whose workers kept dying: mark it failed so nobody waits for it forever."""
        error = "The job was abandoned after its worker stopped repeatedly."
        job = await self._store.jobs.finish(
            message.job_id, JobStatus.INTERNAL_ERROR, {"error": error, "finished_at": utcnow()}
        )
        if job is not None:  # an attempt of its own: the cell shows it ended, and how
            emit = Emitter(self._queue, message.reply_to, job, job.attempts + 1)
            await emit(JobEvent(EventType.FINISHED, job.id, status=str(job.status)))

    async def _maintain(self) -> None:
        while True:
            try:
                await self._liveness.beat()
                await self._reaper.beat()
                await announce_languages(self._bus, self._sandbox, ttl_s=self._liveness.ttl_s)
                await self.kernels.heartbeat()
                await self.kernels.cull_idle()
                await self._reaper.sweep()
                await self._reap()
            except Exception:  # keep maintaining through a passing bus or Docker outage
                log.warning("worker maintenance failed", exc_info=True)
            await asyncio.sleep(self._liveness.ttl_s / 3)

    async def _reap(self) -> None:
        """Remove sandboxes of dead workers on this host. Only a bus shared by every worker
        can tell a dead worker from a live one in another process."""
        if self._bus.spans_processes:
            removed = await self._sandbox.reap(self._liveness.is_alive)
            if removed:
                log.info("removed %d sandboxes left by workers that are gone", removed)


def new_worker_id() -> str:
    return f"{socket.gethostname()}-{new_id()[:8]}"


def create_worker(settings: CodeCrafterSettings, store: Store, queue: JobQueue, bus: Bus) -> Worker:
    worker_id = new_worker_id()
    choice = choose_sandbox(
        settings.sandbox, image=settings.sandbox_image, limits=settings.default_limits()
    )
    choice.log()
    limits = settings.default_limits()
    sandbox: Sandbox = create_sandbox(
        choice.kind,
        image=settings.sandbox_image,
        worker_id=worker_id,
        spares=settings.warm_snippets,
        limits=limits,
    )
    if settings.warm_kernels > 0:
        sandbox = WarmSandbox(sandbox, size=settings.warm_kernels, limits=limits)
    return Worker(
        store,
        queue,
        bus,
        sandbox,
        worker_id=worker_id,
        concurrency=settings.worker_concurrency,
        kernel_idle_timeout_s=settings.kernel_idle_timeout_s,
        kernel_input_timeout_s=settings.kernel_input_timeout_s,
        heartbeat_ttl_s=settings.worker_heartbeat_ttl_s,
        runs_per_user=settings.runs_per_user,
        stop_grace_s=settings.shutdown_timeout_s,
    )
