"""Rate limits: named rules counted per client IP or per user, in Redis or in process.

Each rule is a ``limits`` item ("10/minute") counted with a moving window, so a client
that waits ``retry_after_s`` is sure to get through. With ``redis_url`` set the counters
live in Redis and hold across every server instance; otherwise they live in this process.

In process, the counters are :class:`_InProcess`'s windows, with the same moving-window
rule. ``limits``' asyncio memory storage sweeps every key for expired entries after each
request, one thread hop per key: in the classroom benchmark (30 students, 300 clients)
that sweep was 7 % of the server's busy time; its synchronous one starts a thread.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NoReturn

import limits
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.util import WindowStats

from . import metrics
from .constants import RATE_LIMIT_KEY_PREFIX
from .errors import BackendError, RateLimited

SWEEP_S = 60.0  # how often the in-process counters forget idle keys

if TYPE_CHECKING:
    from .config import CodeCrafterSettings

Per = Literal["ip", "user", "account"]

# Rule name -> (setting that holds its limit, what it is counted per).
RULES: Mapping[str, tuple[str, Per]] = {
    "login": ("rate_limit_login", "ip"),
    "login_failures_account": ("rate_limit_login_failures_account", "account"),
    "login_failures_ip": ("rate_limit_login_failures_ip", "ip"),
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
        self._limiter: MovingWindowRateLimiter | _InProcess = (
            MovingWindowRateLimiter(self._redis_storage(redis_url, namespace))
            if redis_url
            else _InProcess()
        )

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
        with _storage_errors():
            if await self._limiter.hit(rule.item, name, key):
                return
        await self._refuse(rule, key)

    async def check(self, name: str, key: str) -> None:
        """RateLimited when ``key`` has used up ``name``, without counting anything."""
        rule = self.rules.get(name)
        if rule is None:
            return
        with _storage_errors():
            if await self._limiter.test(rule.item, name, key):
                return
        await self._refuse(rule, key)

    async def count(self, name: str, key: str) -> None:
        """Count one event (a failure) against ``name``; refusing is left to :meth:`check`."""
        rule = self.rules.get(name)
        if rule is not None:
            with _storage_errors():
                await self._limiter.hit(rule.item, name, key)

    async def reset(self, name: str, key: str) -> None:
        """Forget what ``key`` used of ``name`` (a successful sign-in clears its failures)."""
        rule = self.rules.get(name)
        if rule is not None:
            with _storage_errors():
                await self._limiter.clear(rule.item, name, key)

    async def _refuse(self, rule: Rule, key: str) -> NoReturn:
        with _storage_errors():
            stats = await self._limiter.get_window_stats(rule.item, rule.name, key)
        metrics.rate_limited(rule.name)
        retry_after_s = max(1, math.ceil(stats.reset_time - time.time()))
        raise RateLimited(retry_after_s, f"Too many requests ({rule.name}); retry later.")

    async def start(self) -> None:
        """Open the Redis connections the counters will need (none in process)."""
        if self._pool is None:
            return
        from redis.exceptions import RedisError

        from .bus.redis import preopen

        try:
            await preopen(self._pool)
        except RedisError as exc:
            raise BackendError("The rate-limit counters are unavailable.") from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.disconnect()


class _InProcess:
    """Moving windows in this process: per key, the times of its hits within the window,
    trimmed as they are read. ``limits``' own memory storage starts a thread to expire its
    entries whenever requests come more than 10 ms apart, 0.3 ms per request on 2 cores,
    and that thread then competes with the event loop for the GIL."""

    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, deque[float]]] = {}  # key -> expiry, hit times
        self._swept_at = time.monotonic()

    async def hit(self, item: limits.RateLimitItem, *identifiers: str) -> bool:
        window = self._window(item, identifiers)
        if len(window) >= item.amount:
            return False
        window.append(time.time())
        return True

    async def test(self, item: limits.RateLimitItem, *identifiers: str) -> bool:
        return len(self._window(item, identifiers)) < item.amount

    async def clear(self, item: limits.RateLimitItem, *identifiers: str) -> None:
        self._windows.pop(item.key_for(*identifiers), None)

    async def get_window_stats(self, item: limits.RateLimitItem, *identifiers: str) -> WindowStats:
        window = self._window(item, identifiers)
        reset_time = window[0] + item.get_expiry() if window else time.time()
        return WindowStats(reset_time, item.amount - len(window))

    def _window(self, item: limits.RateLimitItem, identifiers: tuple[str, ...]) -> deque[float]:
        self._sweep()
        expiry = item.get_expiry()
        _, window = self._windows.setdefault(item.key_for(*identifiers), (expiry, deque()))
        _trim(window, time.time() - expiry)
        return window

    def _sweep(self) -> None:
        """Forget the keys with no hit left in their window, once a minute."""
        if time.monotonic() - self._swept_at < SWEEP_S:
            return
        self._swept_at, now = time.monotonic(), time.time()
        for key, (expiry, window) in list(self._windows.items()):
            if _trim(window, now - expiry) == 0:
                del self._windows[key]


def _trim(window: deque[float], horizon: float) -> int:
    """Drop the hits at or before ``horizon``; how many are left."""
    while window and window[0] <= horizon:
        window.popleft()
    return len(window)


@contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except StorageError as exc:
        raise BackendError("The rate-limit counters are unavailable.") from exc


class SignInLimits:
    """Sign-ins are limited by their failures: per account (as typed) and per client IP.
    A class signing in together from one address is never refused; guessing is."""

    ACCOUNT, IP = "login_failures_account", "login_failures_ip"

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    async def check(self, login: str, ip: str | None) -> None:
        """RateLimited when this account or this address failed too often lately."""
        await self._limiter.check(self.ACCOUNT, _account_key(login))
        await self._limiter.check(self.IP, ip or "unknown")

    async def failed(self, login: str, ip: str | None) -> None:
        await self._limiter.count(self.ACCOUNT, _account_key(login))
        await self._limiter.count(self.IP, ip or "unknown")

    async def succeeded(self, login: str) -> None:
        await self._limiter.reset(self.ACCOUNT, _account_key(login))


def _account_key(login: str) -> str:
    return login.strip().lower()
