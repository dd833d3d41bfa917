"""The bus interface: pub/sub between server instances, and a small shared cache.

``MemoryBus`` serves one process (embedded mode); ``RedisBus`` spans every server instance
and worker that points at the same Redis. Pub/sub is at-most-once: a subscriber that is
briefly disconnected misses messages, so users of the bus re-sync (rooms exchange state
vectors periodically; caches have TTLs).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence

# A subscriber callback; exceptions it raises are logged and do not stop delivery.
Handler = Callable[[bytes], Awaitable[None]]


class Subscription(ABC):
    """A live subscription; ``await sub.close()`` stops delivery to its handler."""

    @abstractmethod
    async def close(self) -> None: ...


class Bus(ABC):
    # Whether other processes (server instances, workers) see this bus's keys and messages.
    spans_processes: bool = False

    @abstractmethod
    async def start(self) -> None:
        """Connect (idempotent)."""

    @abstractmethod
    async def close(self) -> None:
        """Close every subscription and the connection."""

    @abstractmethod
    async def publish(self, channel: str, message: bytes) -> None:
        """Deliver ``message`` to every current subscriber of ``channel``, this process's too."""

    @abstractmethod
    async def publish_many(self, channel: str, messages: Sequence[bytes]) -> None:
        """:meth:`publish` each of ``messages`` in order, together (one round trip)."""

    @abstractmethod
    async def subscribe(self, channel: str, handler: Handler) -> Subscription:
        """Call ``handler`` for each message on ``channel`` until the subscription is closed.

        Messages published after this returns are delivered, in publishing order per publisher.
        """

    @abstractmethod
    async def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None: ...

    @abstractmethod
    async def set_if_absent(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bool:
        """Set only if the key is missing (atomic across instances); whether it was set."""

    @abstractmethod
    async def get_or_set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bytes:
        """The key's value, set to ``value`` first if the key was missing (atomic across
        instances, and one round trip)."""

    @abstractmethod
    async def delete(self, *keys: str) -> None: ...

    @abstractmethod
    async def expire(self, key: str, ttl_s: float) -> bool:
        """Reset the key's time to live; False when the key is missing."""

    @abstractmethod
    async def hash_set(self, key: str, field: str, value: bytes, *, ttl_s: float) -> None:
        """Set one field of the hash at ``key``, and give the whole hash ``ttl_s`` to live
        (so a hash whose writers all stopped disappears)."""

    @abstractmethod
    async def hash_delete(self, key: str, field: str) -> None: ...

    @abstractmethod
    async def hash_get_all(self, key: str) -> dict[str, bytes]:
        """Every field of the hash (empty when there is none)."""

    @abstractmethod
    async def ping(self) -> None:
        """Raise BusError when the backend does not answer."""


def create_bus(redis_url: str | None, *, namespace: str = "") -> Bus:
    """``RedisBus`` when a Redis URL is configured, else the in-process ``MemoryBus``."""
    if redis_url:
        from .redis import RedisBus

        return RedisBus(redis_url, namespace=namespace)
    from .memory import MemoryBus

    return MemoryBus()
