"""Schemas of the session endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from ...store.records import Session
from . import Language, Request


class CreateSessionRequest(Request):
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    kind: Literal["notebook", "file"] = "notebook"
    language: Language = "python"
    content: dict[str, Any] | str | None = None
    is_public: bool = False
    metadata: dict[str, Any] = Field(default_factory=dict)


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
