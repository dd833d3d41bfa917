"""Schemas of the execution endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from ...execution.control import KernelStatus
from ...store.records import Job
from . import CellId, Identifier, Language, Request, Timestamp

Positive = Annotated[float, Field(gt=0)]
PositiveInt = Annotated[int, Field(gt=0)]


class LimitsRequest(Request):
    """Lower limits for this run (each at most the server's, per language)."""

    timeout_s: Positive | None = None
    cpu_time_s: Positive | None = None
    memory_mb: PositiveInt | None = None
    output_bytes: PositiveInt | None = None
    file_size_mb: PositiveInt | None = None
    tmpfs_mb: PositiveInt | None = None
    pids: PositiveInt | None = None
    compile_timeout_s: Positive | None = None

    def asked(self) -> dict[str, float | int]:
        return {name: value for name, value in self.model_dump().items() if value is not None}


class ExecuteCellRequest(Request):
    session_id: Identifier
    cell_id: CellId
    code: str
    limits: LimitsRequest | None = None


class ExecuteSnippetRequest(Request):
    language: Language
    code: str
    stdin: str = ""
    session_id: Identifier | None = None
    limits: LimitsRequest | None = None


class LimitsOut(BaseModel):
    timeout_s: float
    memory_mb: int
    cpus: float
    pids: int
    output_bytes: int
    tmpfs_mb: int
    cpu_time_s: float
    compile_timeout_s: float
    file_size_mb: int
    stdin_bytes: int


class JobOut(BaseModel):
    id: str
    kind: str
    user_id: str = Field(description="Who ran it.")
    status: str
    language: str
    session_id: str | None
    cell_id: str | None
    outputs: list[dict[str, Any]]
    execution_count: int | None
    error: str | None
    worker: str | None
    attempts: int
    limits: LimitsOut
    queued_at: Timestamp
    started_at: Timestamp | None
    finished_at: Timestamp | None

    @classmethod
    def from_record(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=str(job.kind),
            user_id=job.user_id,
            status=str(job.status),
            language=job.language,
            session_id=job.session_id,
            cell_id=job.cell_id,
            outputs=job.outputs,
            execution_count=job.execution_count,
            error=job.error,
            worker=job.worker,
            attempts=job.attempts,
            limits=LimitsOut.model_validate(job.limits, from_attributes=True),
            queued_at=job.queued_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
        )


class JobResponse(BaseModel):
    job: JobOut


class JobHistoryQuery(Request):
    limit: int = Field(20, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(max_length=256)] | None = Field(
        None, description="The next_cursor of the previous page."
    )


class JobListResponse(BaseModel):
    jobs: list[JobOut]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: last.")


class KernelOut(BaseModel):
    state: Literal["none", "starting", "idle", "busy", "dead"]
    worker: str | None = Field(description="The worker the kernel lives on.")
    started_at: Timestamp | None
    last_activity_at: Timestamp | None

    @classmethod
    def from_status(cls, status: KernelStatus) -> KernelOut:
        return cls.model_validate(status.to_json())


class KernelResponse(BaseModel):
    kernel: KernelOut


class LanguageOut(BaseModel):
    id: str
    display_name: str
    version: str | None = Field(
        description="The runtime's version in the sandbox (null until a worker reported it)."
    )
    notebook: bool = Field(description="Whether it can back a notebook session's kernel.")


class LanguagesResponse(BaseModel):
    languages: list[LanguageOut]
