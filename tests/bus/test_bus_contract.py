"""The bus contract, kept by MemoryBus and RedisBus alike."""

from __future__ import annotations

import asyncio

from jupyter_codecrafter.bus.base import Bus
from tests.waiting import eventually

from .conftest import BusFactory
from .helpers import Inbox


async def test_publish_reaches_every_subscriber_including_the_publisher(
    make_bus: BusFactory,
) -> None:
    """A message reaches every subscriber, on this bus and on another one."""
    here, there = make_bus(), make_bus()
    inboxes = [Inbox(), Inbox(), Inbox()]
    await here.subscribe("room", inboxes[0])
    await here.subscribe("room", inboxes[1])
    await there.subscribe("room", inboxes[2])

    await here.publish("room", b"hello")

    for inbox in inboxes:
        await inbox.wait_for(b"hello")
        assert inbox.messages == [b"hello"]


async def test_subscribers_see_only_their_channel(bus: Bus) -> None:
    """A subscriber of one channel does not get another channel's messages."""
    a, b = Inbox(), Inbox()
    await bus.subscribe("a", a)
    await bus.subscribe("b", b)

    await bus.publish("a", b"for-a")
    await bus.publish("b", b"for-b")

    await a.wait_for(b"for-a")
    await b.wait_for(b"for-b")
    assert a.messages == [b"for-a"]
    assert b.messages == [b"for-b"]


async def test_messages_arrive_in_publishing_order(make_bus: BusFactory) -> None:
    """Messages from one publisher arrive in the order they were published."""
    publisher, subscriber = make_bus(), make_bus()
    inbox = Inbox()
    await subscriber.subscribe("ordered", inbox)
    sent = [str(i).encode() for i in range(200)]

    for message in sent:
        await publisher.publish("ordered", message)

    await inbox.wait_for(sent[-1])
    assert inbox.messages == sent


async def test_publish_many_delivers_each_message_in_order(make_bus: BusFactory) -> None:
    """Messages published together arrive one by one, in order, between the ones published
    alone before and after them."""
    publisher, subscriber = make_bus(), make_bus()
    inbox = Inbox()
    await subscriber.subscribe("together", inbox)

    await publisher.publish("together", b"before")
    await publisher.publish_many("together", [b"one", b"two", b"three"])
    await publisher.publish_many("together", [b"alone"])
    await publisher.publish("together", b"after")

    await inbox.wait_for(b"after")
    assert inbox.messages == [b"before", b"one", b"two", b"three", b"alone", b"after"]


async def test_closed_subscription_gets_nothing_more(bus: Bus) -> None:
    """After close() a handler is not called, while other subscribers still are."""
    closed, open_ = Inbox(), Inbox()
    subscription = await bus.subscribe("room", closed)
    await bus.subscribe("room", open_)
    await bus.publish("room", b"before")
    await closed.wait_for(b"before")

    await subscription.close()
    await bus.publish("room", b"after")

    await open_.wait_for(b"after")
    assert closed.messages == [b"before"]


async def test_closing_the_bus_stops_delivery(make_bus: BusFactory) -> None:
    """A closed bus delivers nothing more, while a live one still does."""
    closing, publisher = make_bus(), make_bus()
    stale, fresh = Inbox(), Inbox()
    await closing.subscribe("room", stale)
    await closing.close()
    await publisher.subscribe("room", fresh)

    await publisher.publish("room", b"after-close")

    await fresh.wait_for(b"after-close")
    assert stale.messages == []


async def test_failing_handler_does_not_stop_delivery(bus: Bus) -> None:
    """A handler that raises neither loses later messages nor stops other subscribers."""
    calls: list[bytes] = []

    async def failing(message: bytes) -> None:
        calls.append(message)
        raise RuntimeError("subscriber bug")

    healthy = Inbox()
    await bus.subscribe("room", failing)
    await bus.subscribe("room", healthy)

    await bus.publish("room", b"one")
    await bus.publish("room", b"two")

    await healthy.wait_for(b"two")
    await eventually(lambda: calls == [b"one", b"two"])


async def test_handler_may_close_its_own_subscription(bus: Bus) -> None:
    """A handler can unsubscribe itself (no deadlock) and then gets nothing more."""
    received: list[bytes] = []
    closed = asyncio.Event()

    async def once(message: bytes) -> None:
        received.append(message)
        await subscription.close()
        closed.set()

    subscription = await bus.subscribe("room", once)
    await bus.publish("room", b"first")
    await asyncio.wait_for(closed.wait(), 10)
    witness = Inbox()
    await bus.subscribe("room", witness)
    await bus.publish("room", b"second")

    await witness.wait_for(b"second")
    assert received == [b"first"]


async def test_cache_set_get_delete(bus: Bus) -> None:
    """Values are stored and read back; delete removes several keys at once."""
    assert await bus.get("k1") is None
    await bus.set("k1", b"v1")
    await bus.set("k2", b"v2")
    await bus.set("k1", b"v1-updated")

    assert await bus.get("k1") == b"v1-updated"
    await bus.delete("k1", "k2", "never-set")
    assert await bus.get("k1") is None
    assert await bus.get("k2") is None


async def test_cache_entry_expires_after_its_ttl(bus: Bus) -> None:
    """A key set with a time to live disappears after it; one without stays."""
    await bus.set("short", b"v", ttl_s=0.2)
    await bus.set("forever", b"v")
    assert await bus.get("short") == b"v"

    await _until_missing(bus, "short")
    assert await bus.get("forever") == b"v"


async def test_expire_resets_ttl_and_reports_missing_keys(bus: Bus) -> None:
    """expire() gives an existing key a new time to live and is False for a missing key."""
    await bus.set("k", b"v")
    assert await bus.expire("k", 0.2) is True
    assert await bus.expire("missing", 1.0) is False

    await _until_missing(bus, "k")
    assert await bus.expire("k", 1.0) is False


async def test_set_if_absent_sets_only_missing_keys(bus: Bus) -> None:
    """set_if_absent sets a missing key, leaves an existing one, and works again after expiry."""
    assert await bus.set_if_absent("owner", b"a", ttl_s=0.2) is True
    assert await bus.set_if_absent("owner", b"b", ttl_s=0.2) is False
    assert await bus.get("owner") == b"a"

    await _until_missing(bus, "owner")
    assert await bus.set_if_absent("owner", b"c") is True
    assert await bus.get("owner") == b"c"


async def test_set_if_absent_has_exactly_one_winner(make_bus: BusFactory) -> None:
    """Of 20 concurrent set_if_absent calls from two buses, exactly one wins."""
    buses = [make_bus(), make_bus()]
    results = await asyncio.gather(
        *(buses[i % 2].set_if_absent("lock", str(i).encode(), ttl_s=30) for i in range(20))
    )

    assert results.count(True) == 1
    winner = results.index(True)
    assert await buses[1].get("lock") == str(winner).encode()


async def test_get_or_set_keeps_an_existing_value(bus: Bus) -> None:
    """get_or_set sets a missing key and returns it, returns an existing one unchanged, and
    sets again after expiry (its time to live applied)."""
    assert await bus.get_or_set("owner", b"a", ttl_s=0.2) == b"a"
    assert await bus.get_or_set("owner", b"b", ttl_s=0.2) == b"a"
    assert await bus.get("owner") == b"a"

    await _until_missing(bus, "owner")
    assert await bus.get_or_set("owner", b"c") == b"c"
    assert await bus.get("owner") == b"c"


async def test_get_or_set_gives_everyone_the_same_winner(make_bus: BusFactory) -> None:
    """Of 20 concurrent get_or_set calls from two buses, all get the one value that won."""
    buses = [make_bus(), make_bus()]
    results = await asyncio.gather(
        *(buses[i % 2].get_or_set("lock", str(i).encode(), ttl_s=30) for i in range(20))
    )

    assert len(set(results)) == 1
    assert await buses[1].get("lock") == results[0]


async def test_keys_are_shared_between_buses(make_bus: BusFactory) -> None:
    """A key set through one bus is read and deleted through another."""
    one, other = make_bus(), make_bus()
    await one.set("shared", b"value", ttl_s=30)

    assert await other.get("shared") == b"value"
    await other.delete("shared")
    assert await one.get("shared") is None


async def test_ping_answers(bus: Bus) -> None:
    """ping() returns when the backend is up."""
    await bus.ping()


async def _until_missing(bus: Bus, key: str, timeout_s: float = 10.0) -> None:
    value: list[bytes | None] = [b""]

    async def poll() -> None:
        while True:
            value[0] = await bus.get(key)
            if value[0] is None:
                return
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout_s)


async def test_hash_fields_are_shared_and_deleted_one_by_one(make_bus: BusFactory) -> None:
    """Fields set through one bus are read through another; deleting one keeps the rest."""
    here, there = make_bus(), make_bus()
    await here.hash_set("presence", "i1", b"a", ttl_s=10)
    await there.hash_set("presence", "i2", b"b", ttl_s=10)
    assert await here.hash_get_all("presence") == {"i1": b"a", "i2": b"b"}
    await there.hash_delete("presence", "i1")
    assert await here.hash_get_all("presence") == {"i2": b"b"}
    assert await here.hash_get_all("nothing") == {}


async def test_hash_expires_when_no_writer_renews_it(bus: Bus) -> None:
    """A hash lives ttl_s after its last write, then disappears whole."""
    await bus.hash_set("presence", "i1", b"a", ttl_s=0.2)
    await asyncio.sleep(0.1)
    await bus.hash_set("presence", "i2", b"b", ttl_s=0.2)  # renews the whole hash
    await asyncio.sleep(0.15)
    assert set(await bus.hash_get_all("presence")) == {"i1", "i2"}
    await asyncio.sleep(0.2)
    assert await bus.hash_get_all("presence") == {}
