"""Request and response schemas: they validate requests and generate the OpenAPI document.

Requests reject unknown fields. Responses are built from store records by the
``from_record`` constructors, so the wire format is defined once, here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from ..store.records import Job, Session, User

Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{3,32}$")]
Password = Annotated[str, StringConstraints(min_length=8, max_length=1024)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9+#-]{0,31}$")]
Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class RegisterRequest(Request):
    username: Username
    email: EmailStr
    password: Password


class LoginRequest(Request):
    login: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class CreateSessionRequest(Request):
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: Literal["notebook", "file"] = "notebook"
    language: Language = "python"
    content: dict[str, Any] | str | None = None
    is_public: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)


class ExecuteCellRequest(Request):
    session_id: Identifier
    cell_id: Identifier
    code: str


class ExecuteSnippetRequest(Request):
    language: Language
    code: str
    stdin: str = ""
    session_id: Identifier | None = None


class UserOut(BaseModel):
    id: str
    username: str
    email: str
    display_name: str
    role: str
    created_at: datetime

    @classmethod
    def from_record(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            email=user.email,
            display_name=user.display_name,
            role=str(user.role),
            created_at=user.created_at,
        )


class AuthResponse(BaseModel):
    user: UserOut
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int


class SessionOut(BaseModel):
    id: str
    title: str
    kind: str
    language: str
    owner: str
    is_public: bool
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    role: str | None = None  # the caller's role on the session

    @classmethod
    def from_record(cls, session: Session, role: str | None = None) -> SessionOut:
        return cls(
            id=session.id,
            title=session.title,
            kind=str(session.kind),
            language=session.language,
            owner=session.owner_id,
            is_public=session.is_public,
            metadata=session.metadata,
            created_at=session.created_at,
            updated_at=session.updated_at,
            role=role,
        )


class SessionResponse(BaseModel):
    session: SessionOut


class LimitsOut(BaseModel):
    timeout_s: float
    memory_mb: int
    cpus: float
    pids: int
    output_bytes: int
    tmpfs_mb: int


class JobOut(BaseModel):
    id: str
    kind: str
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
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def from_record(cls, job: Job) -> JobOut:
        return cls(
            id=job.id,
            kind=str(job.kind),
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
