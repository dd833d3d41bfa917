"""The execution service: turns run requests into jobs on the queue, and events into outputs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from ..bus.base import Bus
from ..errors import (
    AlreadyFinished,
    BackendError,
    BadRequest,
    MalformedMessage,
    NotFound,
    PayloadTooLarge,
    QueueError,
    QueueFull,
    SandboxRequired,
    ServiceUnavailable,
)
from ..logs import current_request_id, job_event_received
from ..paging import decode_cursor, split_page
from ..sessions.permissions import Action, may_run_unconfined
from ..sessions.service import SessionService
from ..store.base import Store
from ..store.records import Job, JobKind, JobStatus, Limits, SessionKind, User
from ..utils import new_id, utcnow
from .control import Action as WorkerAction
from .control import WorkerCommand, worker_channel
from .events import JobEvent
from .handover import EventHandover
from .languages import LanguageInfo, announced
from .limits import LimitPolicy
from .ownership import KernelOwnership
from .queue.base import EventDelivery, JobMessage, JobQueue
from .writer import OutputWriter

log = logging.getLogger("jupyter_codecrafter.execution")


class ExecutionService:
    def __init__(
        self,
        store: Store,
        queue: JobQueue,
        bus: Bus,
        sessions: SessionService,
        writer: OutputWriter,
        *,
        instance_id: str,
        limits: LimitPolicy,
        languages: tuple[str, ...],
        confined: bool | None = None,
        unconfined_for_everyone: bool = False,
    ) -> None:
        """``confined``: whether the sandbox that runs this server's jobs is (None: the workers
        are elsewhere and each refuses what its sandbox may not run)."""
        self._store = store
        self._queue = queue
        self._bus = bus
        self._sessions = sessions
        self._writer = writer
        self._instance_id = instance_id
        self._limits = limits
        self.languages = languages
        self._ownership = KernelOwnership(bus)  # read, and placed, here; kept by the workers
        self._confined = confined
        self._unconfined_for_everyone = unconfined_for_everyone
        self._handover = EventHandover(bus, queue, instance_id)
        self._submitting: dict[str, tuple[asyncio.Lock, int]] = {}  # session -> lock, users

    async def start(self) -> None:
        await self._queue.consume_events(self._instance_id, self._on_events)
        await self._handover.start()

    async def stop(self) -> None:
        """Stop standing by for other instances' events (this one's own go on until the
        queue closes, and to another instance after that)."""
        await self._handover.stop()

    async def run_cell(
        self,
        user: User,
        session_id: str,
        cell_id: str,
        code: str,
        *,
        host_access: bool = False,
        limits: Mapping[str, Any] | None = None,
        job_id: str | None = None,
    ) -> Job:
        """Queue a cell of a notebook session for its stateful kernel. ``host_access``: Jupyter
        itself vouches that the caller may start kernels on the host; ``limits`` lower the
        run's limits; ``job_id``: the id to give the run (a kernel channel knows it before
        the run can send anything)."""
        session, _ = await self._sessions.authorize(user, session_id, Action.RUN)
        if session.kind is not SessionKind.NOTEBOOK:
            raise BadRequest("Cells run only in notebook sessions; use a snippet run.")
        unconfined_ok = self._check_confinement(user, host_access)
        applied = self._limits.for_run(session.language, limits)
        async with self._submitting_to(session.id):  # queued in the order they came
            job = self._new_job(user, JobKind.CELL, session.language, code, applied)
            job = replace(job, id=job_id or job.id, session_id=session.id, cell_id=cell_id)
            owner = await self._ownership.place(session.id)
            return await self._submit(job, worker_id=owner, unconfined_ok=unconfined_ok)

    async def run_snippet(
        self,
        user: User,
        language: str,
        code: str,
        stdin: str = "",
        session_id: str | None = None,
        *,
        host_access: bool = False,
        limits: Mapping[str, Any] | None = None,
    ) -> Job:
        """Queue a stateless run in a fresh sandbox."""
        if language not in self.languages:
            raise BadRequest(
                f"Unsupported language {language!r}.", details={"languages": self.languages}
            )
        applied = self._limits.for_run(language, limits)
        if len(stdin.encode()) > applied.stdin_bytes:
            raise PayloadTooLarge(
                "The stdin is too large.", details={"max_bytes": applied.stdin_bytes}
            )
        if session_id is not None:
            await self._sessions.authorize(user, session_id, Action.RUN)
        unconfined_ok = self._check_confinement(user, host_access)
        job = self._new_job(user, JobKind.SNIPPET, language, code, applied)
        job = replace(job, stdin=stdin)
        job = replace(job, session_id=session_id)
        return await self._submit(job, worker_id=None, unconfined_ok=unconfined_ok)

    def _check_confinement(self, user: User, host_access: bool) -> bool:
        """Whether ``user`` may run unconfined; refused at once when this server's own worker
        has no sandbox and they may not."""
        ok = may_run_unconfined(
            user, host_access=host_access, everyone=self._unconfined_for_everyone
        )
        if self._confined is False and not ok:
            raise SandboxRequired()
        return ok

    async def get(self, user: User, job_id: str) -> Job:
        """A job its submitter, or anyone who can view its session, may see."""
        job = await self._store.jobs.get(job_id)
        if job is None:
            raise NotFound("No such job.")
        if job.user_id != user.id:
            if job.session_id is None:
                raise NotFound("No such job.")
            await self._sessions.authorize(user, job.session_id, Action.VIEW)
        return job

    async def language_table(self) -> list[LanguageInfo]:
        """The languages snippet runs accept, with their versions once a worker told them."""
        return await announced(self._bus, self.languages)

    async def cancel(self, user: User, job_id: str) -> Job:
        """Cancel a run (its submitter, or a writer of its session): a queued run never
        starts; a running one is stopped by its worker and ends ``cancelled``."""
        job = await self.get(user, job_id)
        if job.user_id != user.id and job.session_id is not None:
            await self._sessions.authorize(user, job.session_id, Action.RUN)
        if job.status.is_final:
            raise AlreadyFinished(details={"status": str(job.status)})
        if job.status is JobStatus.QUEUED:
            fields = {"error": "Cancelled before it ran.", "finished_at": utcnow()}
            cancelled = await self._store.jobs.finish(job.id, JobStatus.CANCELLED, fields)
            if cancelled is not None:
                if cancelled.session_id and cancelled.cell_id:
                    await self._writer.mark_idle(cancelled.session_id, cancelled.cell_id)
                return cancelled
            job = await self._store.jobs.get(job.id) or job  # a worker took it meanwhile
        if job.status is JobStatus.RUNNING and job.worker:
            command = WorkerCommand(WorkerAction.CANCEL, job_id=job.id)
            await self._bus.publish(worker_channel(job.worker), command.encode())
        return job

    async def history(
        self, user: User, session_id: str, *, limit: int = 20, cursor: str | None = None
    ) -> tuple[list[Job], str | None]:
        """A session's runs, newest first, for anyone who can view the session; and the
        cursor of the next page (None on the last)."""
        await self._sessions.authorize(user, session_id, Action.VIEW)
        before = decode_cursor(cursor) if cursor else None
        jobs = await self._store.jobs.list(session_id=session_id, limit=limit + 1, before=before)
        return split_page(jobs, limit, lambda job: (job.queued_at, job.id))

    def _new_job(self, user: User, kind: JobKind, language: str, code: str, limits: Limits) -> Job:
        return Job(
            id=new_id(),
            kind=kind,
            user_id=user.id,
            language=language,
            code=code,
            queued_at=utcnow(),
            limits=limits,
        )

    async def _submit(self, job: Job, *, worker_id: str | None, unconfined_ok: bool) -> Job:
        await self._store.jobs.create(job)
        message = JobMessage(
            job_id=job.id,
            kind=str(job.kind),
            session_id=job.session_id,
            reply_to=self._instance_id,
            routed_to=worker_id,
            unconfined_ok=unconfined_ok,
            request_id=current_request_id(),
            user_id=job.user_id,
        )
        try:
            await self._queue.enqueue(message, worker_id=worker_id)
        except (QueueFull, QueueError) as exc:
            # Refused (503): it must not stay queued. Should the broker have it after all, a
            # worker finds it final and skips it.
            reason = "queue full" if isinstance(exc, QueueFull) else "queue unavailable"
            await self._store.jobs.finish(
                job.id, JobStatus.CANCELLED, {"error": reason, "finished_at": utcnow()}
            )
            raise
        return job

    @asynccontextmanager
    async def _submitting_to(self, session_id: str) -> AsyncIterator[None]:
        lock, users = self._submitting.get(session_id, (asyncio.Lock(), 0))
        self._submitting[session_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._submitting[session_id]
            if users == 1:
                del self._submitting[session_id]
            else:
                self._submitting[session_id] = (lock, users - 1)

    async def _on_events(self, batch: Sequence[EventDelivery]) -> None:
        """Write a batch of events: each notebook's as one change, the notebooks side by
        side. Raises (the whole batch comes again) when the store or the rooms are down;
        what was written already is then skipped (see writer.py)."""
        by_session: dict[str, list[tuple[JobEvent, EventDelivery]]] = {}
        for delivery in batch:
            event = _decoded(delivery)
            if event is not None and event.session_id:
                by_session.setdefault(event.session_id, []).append((event, delivery))
        written = await asyncio.gather(
            *(self._write(session, events) for session, events in by_session.items()),
            return_exceptions=True,
        )
        for outcome in written:
            if isinstance(outcome, BaseException):
                raise outcome

    async def _write(self, session_id: str, events: list[tuple[JobEvent, EventDelivery]]) -> None:
        try:
            await self._writer.apply_all(session_id, events)
        except (BackendError, ServiceUnavailable):
            raise  # the store or the rooms are down: the queue gives them again later
        except Exception:  # a bug: these events are lost to the notebook, not the others
            log.exception("could not apply job events")


def _decoded(delivery: EventDelivery) -> JobEvent | None:
    try:
        event = JobEvent.decode(delivery.body)
    except MalformedMessage:
        log.exception("dropping a job event that cannot be decoded")
        return None
    job_event_received(event.job_id, event.type, event.status, event.extra)
    return event
