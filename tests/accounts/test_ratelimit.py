"""Rate limits: counted per key and rule, in process or shared through Redis."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator

import pytest

from jupyter_codecrafter import ratelimit
from jupyter_codecrafter.config import CodeCrafterSettings
from jupyter_codecrafter.errors import RateLimited
from jupyter_codecrafter.ratelimit import RULES, RateLimiter, parse_rule, rules_from_settings
from tests.private_services import RedisServer


def limiter(text: str = "3/minute", **options: str) -> RateLimiter:
    rule = parse_rule("login", text, "ip")
    assert rule is not None
    return RateLimiter({"login": rule}, **options)


async def test_over_the_limit_is_refused_with_retry_after() -> None:
    """The fourth hit of a 3/minute rule raises RateLimited with 1..60 s to wait."""
    rates = limiter()
    for _ in range(3):
        await rates.hit("login", "10.0.0.1")
    with pytest.raises(RateLimited) as info:
        await rates.hit("login", "10.0.0.1")
    assert 1 <= info.value.retry_after_s <= 60
    assert info.value.details == {"retry_after_s": info.value.retry_after_s}


async def test_keys_are_counted_separately() -> None:
    """One client at its limit does not limit another."""
    rates = limiter("1/minute")
    await rates.hit("login", "10.0.0.1")
    await rates.hit("login", "10.0.0.2")
    with pytest.raises(RateLimited):
        await rates.hit("login", "10.0.0.1")


async def test_the_window_moves_on() -> None:
    """A key at its limit gets through again once its oldest hit left the window, and a
    reset clears what it used."""
    rates = limiter("2/second")
    for _ in range(2):
        await rates.hit("login", "10.0.0.1")
    with pytest.raises(RateLimited):
        await rates.hit("login", "10.0.0.1")
    await asyncio.sleep(1.05)
    await rates.hit("login", "10.0.0.1")
    await rates.reset("login", "10.0.0.1")
    await rates.hit("login", "10.0.0.1")


async def test_counting_in_process_starts_no_thread() -> None:
    """Requests spaced out in time are counted without a thread (limits' memory storage
    started one to expire entries after each lull)."""
    threads = threading.active_count()
    rates = limiter("100/minute")
    for _ in range(3):
        await asyncio.sleep(0.02)
        await rates.hit("login", "10.0.0.1")
    assert threading.active_count() == threads


async def test_idle_keys_are_forgotten(monkeypatch: pytest.MonkeyPatch) -> None:
    """A key whose hits all left the window is dropped at the next sweep: memory follows
    the clients of the last window, not every client ever seen."""
    monkeypatch.setattr(ratelimit, "SWEEP_S", 0.0)
    rates = limiter("5/second")
    for address in ("10.0.0.1", "10.0.0.2"):
        await rates.hit("login", address)
    await asyncio.sleep(1.05)
    await rates.hit("login", "10.0.0.3")
    counters = rates._limiter
    assert isinstance(counters, ratelimit._InProcess)
    assert len(counters._windows) == 1


async def test_unknown_or_disabled_rules_never_limit() -> None:
    """A rule that is not configured (empty setting) lets everything through."""
    rates = limiter()
    for _ in range(10):
        await rates.hit("register", "10.0.0.1")
    assert rates.per("register") is None and rates.per("login") == "ip"


def test_settings_map_to_rules() -> None:
    """Every rule comes from its setting; an empty setting turns the rule off."""
    settings = CodeCrafterSettings(rate_limit_execute="", rate_limit_login="5 per 2 minutes")
    rules = rules_from_settings(settings)
    assert "execute" not in rules
    assert (rules["login"].item.amount, rules["login"].item.get_expiry()) == (5, 120)
    assert set(rules) == set(RULES) - {"execute"}
    assert rules["authenticated"].per == "user" and rules["unauthenticated"].per == "ip"


def test_defaults_match_the_documented_figures() -> None:
    """Defaults: 300 sign-in attempts a minute per IP, 10 failed sign-ins per account in 15
    minutes and 300 per IP an hour, 200 registrations an hour per IP, 1000/15 min
    unauthenticated per IP, 1200/min per user, 60 runs/min per user."""
    rules = rules_from_settings(CodeCrafterSettings())
    figures = {name: (r.item.amount, r.item.get_expiry(), r.per) for name, r in rules.items()}
    assert figures == {
        "login": (300, 60, "ip"),
        "login_failures_account": (10, 900, "account"),
        "login_failures_ip": (300, 3600, "ip"),
        "register": (200, 3600, "ip"),
        "unauthenticated": (1000, 900, "ip"),
        "authenticated": (1200, 60, "user"),
        "execute": (60, 60, "user"),
    }


def test_a_malformed_limit_is_a_clear_error() -> None:
    """A setting that is not a rate ('ten a minute') fails at start-up, naming the rule."""
    with pytest.raises(ValueError, match="'login'"):
        parse_rule("login", "ten a minute", "ip")


@pytest.fixture
async def redis_limiters(redis_clean: str, namespace: str) -> AsyncIterator[list[RateLimiter]]:
    """Two limiters on one Redis, as two server instances would have."""
    limiters = [limiter("3/minute", redis_url=redis_clean, namespace=namespace) for _ in "ab"]
    yield limiters
    for each in limiters:
        await each.close()


async def test_redis_counters_hold_across_instances(redis_limiters: list[RateLimiter]) -> None:
    """Hits on two instances add up: the fourth hit, on either instance, is refused."""
    first, second = redis_limiters
    await first.hit("login", "10.0.0.1")
    await second.hit("login", "10.0.0.1")
    await first.hit("login", "10.0.0.1")
    with pytest.raises(RateLimited) as info:
        await second.hit("login", "10.0.0.1")
    assert 1 <= info.value.retry_after_s <= 60


async def test_redis_keys_carry_the_namespace(
    redis_limiters: list[RateLimiter], redis_clean: str, namespace: str
) -> None:
    """Counters live under the deployment's namespace, so deployments sharing Redis don't mix."""
    import redis.asyncio as aioredis

    client_ip = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.1"  # this test's own
    await redis_limiters[0].hit("login", client_ip)
    client = aioredis.Redis.from_url(redis_clean)
    try:
        keys = [key.decode() async for key in client.scan_iter(match=f"*{client_ip}*")]
    finally:
        await client.aclose()
    assert keys and all(key.startswith(namespace + "codecrafter:ratelimit") for key in keys)


async def test_a_burst_after_start_finds_its_connections_open(private_redis: RedisServer) -> None:
    """Once started, the Redis counters take a burst of concurrent hits without connecting."""
    import redis

    from jupyter_codecrafter.bus.redis import PREOPENED_CONNECTIONS

    rates = limiter("100/minute", redis_url=private_redis.url)
    await rates.start()
    admin = redis.Redis.from_url(private_redis.url)
    connected = admin.info("stats")["total_connections_received"]
    try:
        hits = (rates.hit("login", f"10.0.0.{n}") for n in range(PREOPENED_CONNECTIONS))
        await asyncio.gather(*hits)
        assert admin.info("stats")["total_connections_received"] == connected
    finally:
        await rates.close()
