"""Rate limits: named rules counted per client IP or per user, in Redis or in process.

Each rule is a ``limits`` item ("10/minute") counted with a moving window, so a client
that waits ``retry_after_s`` is sure to get through. With ``redis_url`` set the counters
live in Redis and hold across every server instance; otherwise they live in this process.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import limits
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string

from .constants import RATE_LIMIT_KEY_PREFIX
from .errors import BackendError, RateLimited

if TYPE_CHECKING:
    from .config import CodeCrafterSettings

Per = Literal["ip", "user"]

# Rule name -> (setting that holds its limit, what it is counted per).
RULES: Mapping[str, tuple[str, Per]] = {
    "login": ("rate_limit_login", "ip"),
    "register": ("rate_limit_register", "ip"),
    "unauthenticated": ("rate_limit_unauthenticated", "ip"),
    "authenticated": ("rate_limit_authenticated", "user"),
    "execute": ("rate_limit_execute", "user"),
}


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    item: limits.RateLimitItem
    per: Per


def parse_rule(name: str, text: str, per: Per) -> Rule | None:
    """The rule ``name`` from its setting; None when the setting is empty (rule off)."""
    if not text.strip():
        return None
    try:
        item = limits.parse(text)
    except ValueError as exc:
        raise ValueError(f"Rate limit {name!r}: {text!r} is not like '10/minute'.") from exc
    return Rule(name, item, per)


def rules_from_settings(settings: CodeCrafterSettings) -> dict[str, Rule]:
    rules = {}
    for name, (setting, per) in RULES.items():
        rule = parse_rule(name, str(getattr(settings, setting)), per)
        if rule is not None:
            rules[name] = rule
    return rules


class RateLimiter:
    """``await limiter.hit("login", ip)`` counts one request, or raises RateLimited."""

    def __init__(
        self, rules: Mapping[str, Rule], *, redis_url: str = "", namespace: str = ""
    ) -> None:
        self.rules = dict(rules)
        self._pool: Any = None
        if redis_url:
            storage = self._redis_storage(redis_url, namespace)
        else:
            storage = storage_from_string("async+memory://")
        self._limiter = MovingWindowRateLimiter(storage)

    def _redis_storage(self, redis_url: str, namespace: str) -> Any:
        from redis.asyncio import ConnectionPool

        # Our own pool, so close() can release its connections.
        self._pool = ConnectionPool.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        return storage_from_string(
            "async+" + redis_url,
            implementation="redispy",
            connection_pool=self._pool,
            key_prefix=namespace + RATE_LIMIT_KEY_PREFIX,
            wrap_exceptions=True,
        )

    def per(self, name: str) -> Per | None:
        """What rule ``name`` is counted per, or None when the rule is off."""
        rule = self.rules.get(name)
        return rule.per if rule else None

    async def hit(self, name: str, key: str) -> None:
        """Count one request against ``name`` for ``key``; RateLimited when over the limit."""
        rule = self.rules.get(name)
        if rule is None:
            return
        try:
            if await self._limiter.hit(rule.item, name, key):
                return
            stats = await self._limiter.get_window_stats(rule.item, name, key)
        except StorageError as exc:
            raise BackendError("The rate-limit counters are unavailable.") from exc
        retry_after_s = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(retry_after_s, f"Too many requests ({name}); retry later.")

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()
