"""Records for the store tests, with millisecond timestamps as the services make them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from jupyter_codecrafter.store.records import (
    ActivityEntry,
    Collaborator,
    Invite,
    Job,
    JobKind,
    Limits,
    RefreshToken,
    Session,
    SessionKind,
    SessionRole,
    User,
)
from jupyter_codecrafter.utils import new_id, utcnow

# Near the real now: MongoDB's TTL index deletes activity entries a month old at once.
BASE_TIME = utcnow().replace(microsecond=891000)


def at(minutes: float = 0) -> datetime:
    """A fixed point in time, ``minutes`` after the base (millisecond precision)."""
    return BASE_TIME + timedelta(milliseconds=round(minutes * 60_000))


def user(**fields: Any) -> User:
    name = fields.pop("username", f"user{new_id()[:8]}")
    values: dict[str, Any] = {
        "id": new_id(),
        "username": name,
        "email": f"{name}@example.org",
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
        "created_at": at(),
        "updated_at": at(),
    }
    return User(**{**values, **fields})


def token(user_id: str, **fields: Any) -> RefreshToken:
    values: dict[str, Any] = {
        "id": new_id(),
        "user_id": user_id,
        "family_id": new_id(),
        "token_hash": new_id(),
        "created_at": at(),
        "expires_at": at(7 * 24 * 60),
    }
    return RefreshToken(**{**values, **fields})


def session(owner_id: str, **fields: Any) -> Session:
    values: dict[str, Any] = {
        "id": new_id(),
        "title": "Untitled",
        "kind": SessionKind.NOTEBOOK,
        "language": "python",
        "owner_id": owner_id,
        "created_at": at(),
        "updated_at": at(),
    }
    return Session(**{**values, **fields})


def collaborator(session_id: str, user_id: str, **fields: Any) -> Collaborator:
    values: dict[str, Any] = {"role": SessionRole.WRITE, "added_at": at()}
    return Collaborator(session_id=session_id, user_id=user_id, **{**values, **fields})


def invite(session_id: str, **fields: Any) -> Invite:
    values: dict[str, Any] = {
        "code": new_id()[:12],
        "session_id": session_id,
        "role": SessionRole.READ,
        "created_by": new_id(),
        "created_at": at(),
    }
    return Invite(**{**values, **fields})


def job(user_id: str, **fields: Any) -> Job:
    values: dict[str, Any] = {
        "id": new_id(),
        "kind": JobKind.SNIPPET,
        "user_id": user_id,
        "language": "python",
        "code": "print(1)",
        "queued_at": at(),
        "limits": Limits(timeout_s=2.5, memory_mb=128, cpus=0.5, pids=32),
    }
    return Job(**{**values, **fields})


def entry(**fields: Any) -> ActivityEntry:
    values: dict[str, Any] = {
        "id": new_id(),
        "level": "info",
        "message": "something happened",
        "timestamp": at(),
    }
    return ActivityEntry(**{**values, **fields})
