"""The records the store keeps. Services create and read these; the stores persist them.

Timestamps are timezone-aware UTC, truncated to milliseconds (see :func:`utils.utcnow`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class UserRole(enum.StrEnum):
    USER = "user"
    ADMIN = "admin"


class SessionKind(enum.StrEnum):
    NOTEBOOK = "notebook"
    FILE = "file"


class SessionRole(enum.StrEnum):
    """A user's role on one session, from least to most powerful."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        return _ROLE_RANK[self]


_ROLE_RANK = {SessionRole.READ: 1, SessionRole.WRITE: 2, SessionRole.ADMIN: 3, SessionRole.OWNER: 4}


class JobKind(enum.StrEnum):
    CELL = "cell"  # a notebook cell, run in the session's stateful kernel
    SNIPPET = "snippet"  # stateless {language, code, stdin} in a fresh sandbox


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    MEMORY_EXCEEDED = "memory_exceeded"
    OUTPUT_EXCEEDED = "output_exceeded"
    CANCELLED = "cancelled"
    COMPILE_ERROR = "compile_error"  # the compiler refused the program (messages in stderr)
    INTERNAL_ERROR = "internal_error"

    @property
    def is_final(self) -> bool:
        return self not in (JobStatus.QUEUED, JobStatus.RUNNING)


@dataclass(slots=True)
class User:
    id: str
    username: str  # lower case, unique
    email: str  # normalised, unique
    password_hash: str
    created_at: datetime
    updated_at: datetime
    role: UserRole = UserRole.USER
    display_name: str = ""
    preferences: dict[str, Any] = field(default_factory=dict)
    last_login_at: datetime | None = None


@dataclass(slots=True)
class RefreshToken:
    """A refresh token as stored: only its hash, never the token itself."""

    id: str
    user_id: str
    family_id: str  # every rotation of one login shares it; reuse revokes the family
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(slots=True)
class Session:
    id: str
    title: str
    kind: SessionKind
    language: str
    owner_id: str
    created_at: datetime
    updated_at: datetime
    is_public: bool = False
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Collaborator:
    session_id: str
    user_id: str
    role: SessionRole  # never OWNER: the owner is Session.owner_id
    added_at: datetime


@dataclass(slots=True)
class Invite:
    code: str
    session_id: str
    role: SessionRole
    created_by: str
    created_at: datetime
    expires_at: datetime | None = None
    max_uses: int | None = None
    uses: int = 0
    revoked_at: datetime | None = None


@dataclass(slots=True)
class Limits:
    """What a run may use. Units are in the names."""

    timeout_s: float = 30.0  # wall clock
    memory_mb: int = 256
    cpus: float = 1.0
    pids: int = 64
    output_bytes: int = 1_000_000
    tmpfs_mb: int = 64
    cpu_time_s: float = 30.0  # CPU time of a one-shot run (a busy loop ends here)
    compile_timeout_s: float = 10.0  # wall clock of a compile step
    file_size_mb: int = 16  # the largest file a run may write
    stdin_bytes: int = 1_000_000


@dataclass(slots=True)
class Job:
    id: str
    kind: JobKind
    user_id: str
    language: str
    code: str
    queued_at: datetime
    limits: Limits = field(default_factory=Limits)
    session_id: str | None = None
    cell_id: str | None = None
    stdin: str = ""
    status: JobStatus = JobStatus.QUEUED
    outputs: list[dict[str, Any]] = field(default_factory=list)  # nbformat output dicts
    execution_count: int | None = None
    error: str | None = None
    worker: str | None = None
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass(slots=True)
class ActivityEntry:
    id: str
    level: str  # "info" | "warning" | "error"
    message: str
    timestamp: datetime
    user_id: str | None = None
    session_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class DocumentState:
    """A session document as persisted: an optional snapshot plus the updates since."""

    snapshot: bytes | None
    updates: list[bytes]
    last_seq: int  # sequence number of the newest update (0 when none)
