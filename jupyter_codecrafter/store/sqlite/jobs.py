"""Jobs in SQLite."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ..base import JobRepository, PageCursor
from ..records import Job, JobStatus
from .database import Database, Params
from .rows import (
    assignments,
    changes_to_row,
    from_row,
    insert_sql,
    page_clause,
    select_sql,
    to_row,
    update_sql,
)

_NOT_FINAL = "status IN ('queued', 'running')"


class SQLiteJobs(JobRepository):
    def __init__(self, db: Database) -> None:
        self._db = db

    async def create(self, job: Job) -> None:
        row = to_row(job)
        await self._db.execute(insert_sql("jobs", row), row)

    async def get(self, job_id: str) -> Job | None:
        return await self._one("SELECT * FROM jobs WHERE id = ?", (job_id,))

    async def update(self, job_id: str, fields: Mapping[str, Any]) -> Job | None:
        return await self._update(job_id, changes_to_row(Job, fields, key="id"))

    async def start(self, job_id: str, worker: str, started_at: datetime) -> Job | None:
        row = changes_to_row(
            Job,
            {"status": JobStatus.RUNNING, "worker": worker, "started_at": started_at},
            key="id",
        )
        return await self._update(job_id, row, ["attempts = attempts + 1"], [_NOT_FINAL])

    async def finish(self, job_id: str, status: JobStatus, fields: Mapping[str, Any]) -> Job | None:
        if not JobStatus(status).is_final:
            raise ValueError(f"finish() needs a final status, not {status!r}")
        row = changes_to_row(Job, {**fields, "status": status}, key="id")
        return await self._update(job_id, row, conditions=[_NOT_FINAL])

    async def list(
        self,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        limit: int = 50,
        before: PageCursor | None = None,
    ) -> list[Job]:
        if limit <= 0:
            return []
        params: dict[str, Any] = {"session_id": session_id, "user_id": user_id, "limit": limit}
        conditions = [
            f"{name} = :{name}" for name in ("session_id", "user_id") if params[name] is not None
        ]
        page = page_clause("queued_at", before, params)
        conditions += [page] if page else []
        sql = select_sql("jobs", conditions, "queued_at DESC, id DESC")
        return [from_row(Job, row) for row in await self._db.fetch_all(sql, params)]

    async def delete_for_session(self, session_id: str) -> int:
        return await self._db.execute("DELETE FROM jobs WHERE session_id = ?", (session_id,))

    async def _update(
        self,
        job_id: str,
        row: dict[str, Any],
        extra_sets: Sequence[str] = (),
        conditions: Sequence[str] = (),
    ) -> Job | None:
        """One conditional UPDATE ... RETURNING: atomic across processes."""
        sets = [*assignments(row), *extra_sets]
        if not sets:
            return await self.get(job_id)
        sql = update_sql("jobs", sets, ["id = :_id", *conditions])
        return await self._one(sql, {**row, "_id": job_id})

    async def _one(self, sql: str, params: Params) -> Job | None:
        row = await self._db.fetch_one(sql, params)
        return None if row is None else from_row(Job, row)
