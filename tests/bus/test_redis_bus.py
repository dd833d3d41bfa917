"""RedisBus beyond the shared contract: namespaces, errors, and surviving lost connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import pytest
import redis

from jupyter_codecrafter.bus.redis import PREOPENED_CONNECTIONS, RedisBus
from jupyter_codecrafter.errors import BusError
from tests.private_services import RedisServer
from tests.services import free_port

from .helpers import Inbox


@pytest.fixture
async def make_redis_bus() -> AsyncIterator[Callable[..., RedisBus]]:
    made: list[RedisBus] = []

    def factory(url: str, namespace: str = "") -> RedisBus:
        made.append(RedisBus(url, namespace=namespace))
        return made[-1]

    yield factory
    for bus in made:
        await bus.close()


async def test_namespaces_isolate_channels_and_keys(
    redis_url: str, namespace: str, make_redis_bus: Callable[..., RedisBus]
) -> None:
    """Buses on different namespaces share neither messages nor keys."""
    blue = make_redis_bus(redis_url, namespace + "blue.")
    green = make_redis_bus(redis_url, namespace + "green.")
    blue_inbox, green_inbox = Inbox(), Inbox()
    await blue.subscribe("room", blue_inbox)
    await green.subscribe("room", green_inbox)

    await blue.publish("room", b"blue-only")
    await green.publish("room", b"green-only")
    await blue.set("key", b"blue")

    await blue_inbox.wait_for(b"blue-only")
    await green_inbox.wait_for(b"green-only")
    assert blue_inbox.messages == [b"blue-only"]
    assert green_inbox.messages == [b"green-only"]
    assert await green.get("key") is None
    assert await green.set_if_absent("key", b"green") is True
    assert await blue.get("key") == b"blue"


async def test_namespace_prefixes_names_in_redis(
    redis_clean: str, namespace: str, make_redis_bus: Callable[..., RedisBus]
) -> None:
    """A deployment sharing Redis sees the bus's keys under its namespace prefix."""
    bus = make_redis_bus(redis_clean, namespace)
    await bus.set("kernel:s1", b"w1", ttl_s=30)

    assert redis.Redis.from_url(redis_clean).get(namespace + "kernel:s1") == b"w1"


async def test_unreachable_redis_raises_bus_error(make_redis_bus: Callable[..., RedisBus]) -> None:
    """With nothing listening, every operation fails with BusError (no hang, no redis error)."""
    bus = make_redis_bus(f"redis://127.0.0.1:{free_port()}/0")

    with pytest.raises(BusError):
        await bus.ping()
    with pytest.raises(BusError):
        await bus.start()
    with pytest.raises(BusError):
        await bus.set("k", b"v")
    with pytest.raises(BusError):
        await bus.publish("room", b"m")


async def test_a_burst_after_start_finds_its_connections_open(
    private_redis: RedisServer, make_redis_bus: Callable[..., RedisBus]
) -> None:
    """Once started, the bus answers a burst of concurrent commands without connecting."""
    bus = make_redis_bus(private_redis.url)
    await bus.subscribe("room", Inbox())  # started, and its pub/sub connection is open too
    admin = redis.Redis.from_url(private_redis.url)
    connected = admin.info("stats")["total_connections_received"]

    await asyncio.gather(*(bus.get(f"k{n}") for n in range(PREOPENED_CONNECTIONS)))

    assert admin.info("stats")["total_connections_received"] == connected


async def test_subscriptions_survive_killed_connection(
    private_redis: RedisServer, make_redis_bus: Callable[..., RedisBus]
) -> None:
    """After Redis drops the pub/sub connection, the bus reconnects and delivers again."""
    bus = make_redis_bus(private_redis.url)
    inbox = Inbox()
    await bus.subscribe("room", inbox)
    admin = redis.Redis.from_url(private_redis.url)

    assert admin.client_kill_filter(_type="pubsub") == 1

    await _until_delivered(bus, "room", inbox)
    await bus.publish("room", b"after-recovery")
    await inbox.wait_for(b"after-recovery")


async def test_subscriptions_survive_redis_restart(
    private_redis: RedisServer, make_redis_bus: Callable[..., RedisBus]
) -> None:
    """When Redis restarts, existing and new subscriptions deliver again, and commands work."""
    bus = make_redis_bus(private_redis.url)
    before, during = Inbox(), Inbox()
    await bus.subscribe("room", before)

    private_redis.stop()
    with pytest.raises(BusError):
        await bus.set("k", b"v")
    subscribing = asyncio.create_task(bus.subscribe("later", during))
    private_redis.start()

    await asyncio.wait_for(subscribing, 15)
    await _until_delivered(bus, "room", before)
    await bus.publish("later", b"after-restart")
    await during.wait_for(b"after-restart")
    await bus.set("k", b"v")
    assert await bus.get("k") == b"v"


async def _until_delivered(
    bus: RedisBus, channel: str, inbox: Inbox, timeout_s: float = 15
) -> None:
    """Publish probes until one arrives: the moment of resubscription is not observable."""

    async def probe() -> None:
        attempt = 0
        while True:
            attempt += 1
            probe_message = f"probe-{attempt}".encode()
            with contextlib.suppress(BusError):  # Redis is still coming back
                await bus.publish(channel, probe_message)
            for _ in range(10):
                if any(m.startswith(b"probe-") for m in inbox.messages):
                    return
                await asyncio.sleep(0.01)

    await asyncio.wait_for(probe(), timeout_s)
