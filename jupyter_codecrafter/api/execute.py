"""Execution endpoints: queue a cell or snippet run, read a job."""

from __future__ import annotations

from ..errors import PayloadTooLarge
from ..store.records import User
from .base import CodeCrafterHandler
from .operation import operation
from .schemas import ErrorResponse
from .schemas.execute import (
    ExecuteCellRequest,
    ExecuteSnippetRequest,
    JobHistoryQuery,
    JobListResponse,
    JobOut,
    JobResponse,
    LanguageOut,
    LanguagesResponse,
)

UNCONFINED_NOTE = (
    "403 sandbox_required: this server runs code without a sandbox (the 'process' backend) "
    "and the caller is neither an admin nor trusted by Jupyter to start kernels on the host."
)


class RunHandler(CodeCrafterHandler):
    def check_code_size(self, code: str) -> None:
        limit = self.services.settings.max_code_bytes
        if len(code.encode()) > limit:
            raise PayloadTooLarge("The code is too large.", details={"max_bytes": limit})


class ExecuteHandler(RunHandler):
    @operation(
        "Run a notebook cell in the session's kernel",
        request=ExecuteCellRequest,
        responses={202: JobResponse, 403: ErrorResponse, 404: ErrorResponse},  # 404: the session
        rate_limit="execute",
        tags=("execution",),
        description=UNCONFINED_NOTE,
    )
    async def post(self, *, user: User, body: ExecuteCellRequest) -> None:
        self.check_code_size(body.code)
        job = await self.services.execution.run_cell(
            user,
            body.session_id,
            body.cell_id,
            body.code,
            host_access=await self.host_access(),
            limits=body.limits.asked() if body.limits else None,
        )
        self.reply(202, JobResponse(job=JobOut.from_record(job)))


class SnippetHandler(RunHandler):
    @operation(
        "Run a snippet in a fresh sandbox",
        request=ExecuteSnippetRequest,
        responses={202: JobResponse, 403: ErrorResponse, 404: ErrorResponse},  # 404: the session
        rate_limit="execute",
        tags=("execution",),
        description=UNCONFINED_NOTE,
    )
    async def post(self, *, user: User, body: ExecuteSnippetRequest) -> None:
        self.check_code_size(body.code)
        job = await self.services.execution.run_snippet(
            user,
            body.language,
            body.code,
            body.stdin,
            body.session_id,
            host_access=await self.host_access(),
            limits=body.limits.asked() if body.limits else None,
        )
        self.reply(202, JobResponse(job=JobOut.from_record(job)))


class LanguagesHandler(CodeCrafterHandler):
    @operation(
        "The languages snippet runs accept",
        responses={200: LanguagesResponse},
        tags=("execution",),
        description="Each with its runtime version in the sandbox and whether it can back a "
        "notebook session's kernel.",
    )
    async def get(self, *, user: User) -> None:
        table = await self.services.execution.language_table()
        languages = [LanguageOut.model_validate(row, from_attributes=True) for row in table]
        self.reply(200, LanguagesResponse(languages=languages))


class JobStatusHandler(CodeCrafterHandler):
    @operation(
        "Read a job: status, outputs, timings", responses={200: JobResponse}, tags=("execution",)
    )
    async def get(self, job_id: str, *, user: User) -> None:
        job = await self.services.execution.get(user, job_id)
        self.reply(200, JobResponse(job=JobOut.from_record(job)))


class CancelHandler(CodeCrafterHandler):
    @operation(
        "Cancel a run",
        responses={202: JobResponse, 409: ErrorResponse},
        tags=("execution",),
        description="Its submitter, or a writer of its session. A queued run never starts "
        "(the answer says cancelled); a running one is stopped by its worker and ends "
        "cancelled (a cell keeps its outputs so far). 409 already_finished when it has ended.",
    )
    async def post(self, job_id: str, *, user: User) -> None:
        job = await self.services.execution.cancel(user, job_id)
        self.reply(202, JobResponse(job=JobOut.from_record(job)))


class JobHistoryHandler(CodeCrafterHandler):
    @operation(
        "A session's runs, newest first",
        query=JobHistoryQuery,
        responses={200: JobListResponse},
        tags=("execution",),
        description="Anyone who can read the session (cell runs and its snippet runs).",
    )
    async def get(self, session_id: str, *, user: User, query: JobHistoryQuery) -> None:
        jobs, next_cursor = await self.services.execution.history(
            user, session_id, limit=query.limit, cursor=query.cursor
        )
        self.reply(
            200,
            JobListResponse(jobs=[JobOut.from_record(j) for j in jobs], next_cursor=next_cursor),
        )


handlers = [
    (r"/execute", ExecuteHandler),
    (r"/execute/snippet", SnippetHandler),
    (r"/execute/languages", LanguagesHandler),
    (r"/execute/status/(?P<job_id>[A-Za-z0-9_-]{1,64})", JobStatusHandler),
    (r"/execute/(?P<job_id>[A-Za-z0-9_-]{1,64})/cancel", CancelHandler),
    (r"/sessions/(?P<session_id>[A-Za-z0-9_-]{1,64})/jobs", JobHistoryHandler),
]
