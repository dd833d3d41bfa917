"""The in-process bus: pub/sub and a TTL cache for one process (embedded mode)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ._common import QueuedSubscription, ttl_ms
from .base import Bus, Handler, Subscription

# Expired keys are dropped when read, and all at once every this many writes, so keys
# nobody reads again do not pile up.
_SWEEP_EVERY_WRITES = 1024


class MemoryBus(Bus):
    """Pub/sub and cache in this process; every operation is atomic (one event loop)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[QueuedSubscription]] = {}
        # key -> (value, monotonic deadline or None for no expiry)
        self._cache: dict[str, tuple[bytes, float | None]] = {}
        self._hashes: dict[str, tuple[dict[str, bytes], float | None]] = {}
        self._writes = 0

    async def start(self) -> None:
        """Nothing to connect."""

    async def close(self) -> None:
        for subscribers in list(self._subscribers.values()):
            for subscription in list(subscribers):
                await subscription.close()
        self._subscribers.clear()

    async def publish(self, channel: str, message: bytes) -> None:
        for subscription in list(self._subscribers.get(channel, ())):
            subscription.deliver(message)

    async def publish_many(self, channel: str, messages: Sequence[bytes]) -> None:
        for message in messages:
            await self.publish(channel, message)

    async def subscribe(self, channel: str, handler: Handler) -> Subscription:
        subscription = QueuedSubscription(channel, handler, self._forget)
        self._subscribers.setdefault(channel, set()).add(subscription)
        return subscription

    async def _forget(self, subscription: QueuedSubscription) -> None:
        subscribers = self._subscribers.get(subscription.channel)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.channel]

    async def get(self, key: str) -> bytes | None:
        entry = self._live_entry(key)
        return None if entry is None else entry[0]

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        self._cache[key] = (value, _deadline(ttl_s))
        self._count_write()

    async def set_if_absent(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bool:
        if self._live_entry(key) is not None:
            return False
        await self.set(key, value, ttl_s=ttl_s)
        return True

    async def get_or_set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bytes:
        entry = self._live_entry(key)
        if entry is not None:
            return entry[0]
        await self.set(key, value, ttl_s=ttl_s)
        return value

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._cache.pop(key, None)

    async def expire(self, key: str, ttl_s: float) -> bool:
        entry = self._live_entry(key)
        if entry is None:
            return False
        self._cache[key] = (entry[0], _deadline(ttl_s))
        return True

    async def hash_set(self, key: str, field: str, value: bytes, *, ttl_s: float) -> None:
        fields = self._live_hash(key)
        fields[field] = value
        self._hashes[key] = (fields, _deadline(ttl_s))
        self._count_write()

    async def hash_delete(self, key: str, field: str) -> None:
        entry = self._hashes.get(key)
        if entry is not None:
            entry[0].pop(field, None)
            if not entry[0]:
                del self._hashes[key]

    async def hash_get_all(self, key: str) -> dict[str, bytes]:
        return dict(self._live_hash(key))

    async def ping(self) -> None:
        """Always answers."""

    def _live_hash(self, key: str) -> dict[str, bytes]:
        entry = self._hashes.get(key)
        if entry is None or _expired(entry, time.monotonic()):
            self._hashes.pop(key, None)
            return {}
        return entry[0]

    def _live_entry(self, key: str) -> tuple[bytes, float | None] | None:
        entry = self._cache.get(key)
        if entry is not None and _expired(entry, time.monotonic()):
            del self._cache[key]
            return None
        return entry

    def _count_write(self) -> None:
        self._writes += 1
        if self._writes % _SWEEP_EVERY_WRITES == 0:
            now = time.monotonic()
            for key in [k for k, entry in self._cache.items() if _expired(entry, now)]:
                del self._cache[key]
            for key in [k for k, hashed in self._hashes.items() if _expired(hashed, now)]:
                del self._hashes[key]


def _deadline(ttl_s: float | None) -> float | None:
    return None if ttl_s is None else time.monotonic() + ttl_ms(ttl_s) / 1000


def _expired(entry: tuple[object, float | None], now: float) -> bool:
    return entry[1] is not None and entry[1] <= now
