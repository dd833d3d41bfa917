"""The cache of session records and collaborator roles, which every permission check reads.

It lives in the bus's key-value store: Redis when configured, so every server instance reads
one cache; this process's memory otherwise. Every change invalidates before its request
answers, by overwriting the entry with a tombstone, so the next check on any instance
reads the store again: a role change made through one instance is seen at once by all.

There is deliberately no per-process tier in front of Redis: it would have to be dropped
by a pub/sub message, which arrives asynchronously and at most once, so another instance
could still grant a removed collaborator access after the removal answered. One Redis
round trip per check is the price of "at once".

The tombstone closes the classic race of look-aside caches: a reader that loaded the old
value from the store just before a change must not put it back afterwards. Fills use
``set_if_absent``, which a tombstone refuses for ``tombstone_ttl_s`` (far longer than a
store read takes); meanwhile readers go to the store.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Generic, TypeVar

from ..bus.base import Bus
from ..constants import CACHE_KEY_PREFIX
from ..errors import BusError
from ..store.records import Session, SessionKind, SessionRole

log = logging.getLogger("jupyter_codecrafter.sessions")

T = TypeVar("T")

TOMBSTONE = b"~"
DEFAULT_TTL_S = 60.0  # also bounds staleness if an invalidation failed (Redis down)
DEFAULT_TOMBSTONE_TTL_S = 30.0


def session_key(session_id: str) -> str:
    return f"{CACHE_KEY_PREFIX}session:{session_id}"


def role_key(session_id: str, user_id: str) -> str:
    return f"{CACHE_KEY_PREFIX}role:{session_id}:{user_id}"


class Codec(Generic[T]):
    """How a cached value becomes bytes and back (JSON)."""

    def __init__(self, encode: Callable[[T], Any], decode: Callable[[Any], T]) -> None:
        self._encode = encode
        self._decode = decode

    def dumps(self, value: T) -> bytes:
        return json.dumps(self._encode(value), separators=(",", ":")).encode("utf-8")

    def loads(self, raw: bytes) -> T:
        return self._decode(json.loads(raw))


def _session_to_json(session: Session | None) -> dict[str, Any] | None:
    if session is None:
        return None
    return {
        "id": session.id,
        "title": session.title,
        "kind": session.kind.value,
        "language": session.language,
        "owner_id": session.owner_id,
        "created_at": session.created_at.isoformat(),
        "updated_at": session.updated_at.isoformat(),
        "is_public": session.is_public,
        "metadata": session.metadata,
    }


def _session_from_json(data: dict[str, Any] | None) -> Session | None:
    if data is None:
        return None
    return Session(
        id=data["id"],
        title=data["title"],
        kind=SessionKind(data["kind"]),
        language=data["language"],
        owner_id=data["owner_id"],
        created_at=datetime.fromisoformat(data["created_at"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        is_public=data["is_public"],
        metadata=data["metadata"],
    )


SESSION_CODEC: Codec[Session | None] = Codec(_session_to_json, _session_from_json)
ROLE_CODEC: Codec[SessionRole | None] = Codec(
    lambda role: None if role is None else role.value,
    lambda value: None if value is None else SessionRole(value),
)


class SessionCache:
    def __init__(
        self,
        bus: Bus,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        tombstone_ttl_s: float = DEFAULT_TOMBSTONE_TTL_S,
    ) -> None:
        self._bus = bus
        self._ttl_s = ttl_s
        self._tombstone_ttl_s = tombstone_ttl_s

    async def session(
        self, session_id: str, load: Callable[[], Awaitable[Session | None]]
    ) -> Session | None:
        """The session (None: no such session), from the cache or ``load``."""
        return await self._get(session_key(session_id), load, SESSION_CODEC)

    async def collaborator_role(
        self, session_id: str, user_id: str, load: Callable[[], Awaitable[SessionRole | None]]
    ) -> SessionRole | None:
        """The user's collaborator role (None: not a collaborator), from the cache or ``load``."""
        return await self._get(role_key(session_id, user_id), load, ROLE_CODEC)

    async def invalidate_session(self, session_id: str) -> None:
        await self.invalidate([session_key(session_id)])

    async def invalidate_role(self, session_id: str, user_id: str) -> None:
        await self.invalidate([role_key(session_id, user_id)])

    async def invalidate(self, keys: Iterable[str]) -> None:
        """Make every instance read ``keys`` from the store; BusError if that cannot be done
        (the caller's change must then not be reported as fully applied)."""
        for key in keys:
            await self._bus.set(key, TOMBSTONE, ttl_s=self._tombstone_ttl_s)

    async def _get(self, key: str, load: Callable[[], Awaitable[T]], codec: Codec[T]) -> T:
        try:
            raw = await self._bus.get(key)
        except BusError:
            log.warning("Session cache unavailable; reading the store", exc_info=True)
            return await load()
        if raw is not None and raw != TOMBSTONE:
            return codec.loads(raw)
        value = await load()
        if raw is None:  # a tombstone means: changed lately, don't refill yet
            await self._fill(key, codec.dumps(value))
        return value

    async def _fill(self, key: str, raw: bytes) -> None:
        try:
            await self._bus.set_if_absent(key, raw, ttl_s=self._ttl_s)
        except BusError:
            log.warning("Session cache unavailable; not caching", exc_info=True)
