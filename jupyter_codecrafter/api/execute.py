"""Execution endpoints: queue a cell or snippet run, read a job."""

from __future__ import annotations

from jupyter_server.auth.decorator import allow_unauthenticated

from ..errors import PayloadTooLarge
from .base import CodeCrafterHandler
from .schemas import ExecuteCellRequest, ExecuteSnippetRequest, JobOut, JobResponse


class ExecuteHandler(CodeCrafterHandler):
    """POST a cell run ``{session_id, cell_id, code}``."""

    @allow_unauthenticated
    async def post(self) -> None:
        user = await self.authenticated_user()
        body = self.parse_body(ExecuteCellRequest)
        self._check_size(body.code)
        job = await self.services.execution.run_cell(user, body.session_id, body.cell_id, body.code)
        self.reply(202, JobResponse(job=JobOut.from_record(job)))

    def _check_size(self, *texts: str) -> None:
        limit = self.services.settings.max_code_bytes
        if any(len(text.encode()) > limit for text in texts):
            raise PayloadTooLarge("The code or stdin is too large.", details={"max_bytes": limit})


class SnippetHandler(ExecuteHandler):
    """POST a stateless run ``{language, code, stdin}``."""

    @allow_unauthenticated
    async def post(self) -> None:
        user = await self.authenticated_user()
        body = self.parse_body(ExecuteSnippetRequest)
        self._check_size(body.code, body.stdin)
        job = await self.services.execution.run_snippet(
            user, body.language, body.code, body.stdin, body.session_id
        )
        self.reply(202, JobResponse(job=JobOut.from_record(job)))


class JobStatusHandler(CodeCrafterHandler):
    @allow_unauthenticated
    async def get(self, job_id: str) -> None:
        user = await self.authenticated_user()
        job = await self.services.execution.get(user, job_id)
        self.reply(200, JobResponse(job=JobOut.from_record(job)))


handlers = [
    (r"/execute", ExecuteHandler),
    (r"/execute/snippet", SnippetHandler),
    (r"/execute/status/(?P<job_id>[A-Za-z0-9_-]{1,64})", JobStatusHandler),
]
