"""Jobs in MongoDB."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pymongo import ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from .. import codec
from ..base import JobRepository, PageCursor
from ..records import Job, JobStatus
from .common import Document, MongoRepository, all_of, from_doc, page_filter, to_doc, translated

_NOT_FINAL = {"status": {"$in": [JobStatus.QUEUED.value, JobStatus.RUNNING.value]}}


class MongoJobs(JobRepository, MongoRepository):
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._jobs = collection

    @translated
    async def create(self, job: Job) -> None:
        await self._jobs.insert_one(to_doc(job))

    @translated
    async def get(self, job_id: str) -> Job | None:
        doc = await self._jobs.find_one({"_id": job_id})
        return None if doc is None else from_doc(Job, doc)

    @translated
    async def update(self, job_id: str, fields: Mapping[str, Any]) -> Job | None:
        changes = codec.encode_changes(Job, fields, key="id")
        if not changes:
            return await self.get(job_id)
        return await self._update({"_id": job_id}, {"$set": changes})

    @translated
    async def start(self, job_id: str, worker: str, started_at: datetime) -> Job | None:
        changes = codec.encode_changes(
            Job,
            {"status": JobStatus.RUNNING, "worker": worker, "started_at": started_at},
            key="id",
        )
        update = {"$set": changes, "$inc": {"attempts": 1}}
        return await self._update({"_id": job_id, **_NOT_FINAL}, update)

    @translated
    async def finish(self, job_id: str, status: JobStatus, fields: Mapping[str, Any]) -> Job | None:
        if not JobStatus(status).is_final:
            raise ValueError(f"finish() needs a final status, not {status!r}")
        changes = codec.encode_changes(Job, {**fields, "status": status}, key="id")
        return await self._update({"_id": job_id, **_NOT_FINAL}, {"$set": changes})

    @translated
    async def list(
        self,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        limit: int = 50,
        before: PageCursor | None = None,
    ) -> list[Job]:
        if limit <= 0:  # MongoDB reads limit(0) as "no limit"
            return []
        query = all_of(
            None if session_id is None else {"session_id": session_id},
            None if user_id is None else {"user_id": user_id},
            page_filter("queued_at", before),
        )
        cursor = self._jobs.find(query).sort([("queued_at", -1), ("_id", -1)]).limit(limit)
        return [from_doc(Job, doc) for doc in await cursor.to_list(None)]

    @translated
    async def delete_for_session(self, session_id: str) -> int:
        return (await self._jobs.delete_many({"session_id": session_id})).deleted_count

    async def _update(self, query: Document, update: Document) -> Job | None:
        """One conditional find_one_and_update: atomic on the server."""
        doc = await self._jobs.find_one_and_update(
            query, update, return_document=ReturnDocument.AFTER
        )
        return None if doc is None else from_doc(Job, doc)
