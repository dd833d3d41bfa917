"""The Redis bus: pub/sub and cache shared by every server instance and worker.

One pub/sub connection per bus, read by one task that dispatches messages to subscribers by
channel. When the connection drops (Redis restarted, client killed) the reader reconnects
with backoff and subscribes to every channel again; messages published meanwhile are lost,
which the bus contract allows (users re-sync).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import cast

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import RedisError
from tenacity import (
    before_sleep_log,
    retry,
    retry_if_exception_type,
    wait_exponential_jitter,
)

from ..errors import BusError
from ..utils import cancel_and_wait
from ._common import QueuedSubscription, ttl_ms
from .base import Bus, Handler, Subscription

log = logging.getLogger(__name__)

# Commands retry a few times over about a second (a failover or a restart in progress), then
# fail with BusError rather than hang the request that made them.
_COMMAND_RETRY = Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), retries=3)
_TIMEOUT_S = 5.0
# redis-py opens a connection for each command sent while the others are busy, three round
# trips (HELLO, CLIENT SETNAME, SELECT) before the command itself. Opened by a class's first
# burst (30 runs at once), they delayed that burst's outputs by about 80 ms at p99.
PREOPENED_CONNECTIONS = 32
_CLIENT_NAME = "codecrafter-bus"  # shows in CLIENT LIST, for operators
# GET, else SET: one round trip, atomic, on any Redis (SET's NX and GET together need 7.0).
_GET_OR_SET = """
local current = redis.call('GET', KEYS[1])
if current then return current end
if ARGV[2] == '' then redis.call('SET', KEYS[1], ARGV[1])
else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return ARGV[1]
"""


@contextlib.contextmanager
def _translated(action: str) -> Iterator[None]:
    """Turn redis-py's errors into BusError, keeping the cause."""
    try:
        yield
    except RedisError as exc:
        raise BusError(f"Redis {action} failed: {type(exc).__name__}: {exc}") from exc


async def preopen(pool: ConnectionPool, count: int = PREOPENED_CONNECTIONS) -> None:
    """Open ``count`` connections of ``pool`` now, so that a burst of commands finds them."""
    # None is released before all are open, so each is a new one.
    connections = [await pool.get_connection() for _ in range(count)]  # type: ignore[no-untyped-call]  # unannotated in redis-py
    for connection in connections:
        await pool.release(connection)


async def _close_quietly(pubsub: PubSub) -> None:
    with contextlib.suppress(RedisError, OSError):  # the connection may be dead already
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # unannotated in redis-py


class RedisBus(Bus):
    """Pub/sub and cache on Redis; ``namespace`` prefixes every channel and key."""

    spans_processes = True

    def __init__(self, url: str, *, namespace: str = "", subscribe_timeout_s: float = 10.0) -> None:
        self._namespace = namespace
        self._subscribe_timeout_s = subscribe_timeout_s
        self._client = Redis.from_url(
            url,
            socket_timeout=_TIMEOUT_S,
            socket_connect_timeout=_TIMEOUT_S,
            retry=_COMMAND_RETRY,
            client_name=_CLIENT_NAME,
        )
        # The reader handles reconnection itself, so redis-py must not retry behind its back.
        self._pubsub_client = Redis.from_url(
            url,
            socket_connect_timeout=_TIMEOUT_S,
            retry=Retry(NoBackoff(), 0),
            client_name=_CLIENT_NAME,
        )
        self._subscribers: dict[str, set[QueuedSubscription]] = {}  # by namespaced channel
        self._confirmed: set[str] = set()  # channels Redis confirmed on the current connection
        self._waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._get_or_set = self._client.register_script(_GET_OR_SET)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        if self._reader is not None and not self._reader.done():
            return
        await self.ping()
        with _translated("connect"):
            await preopen(self._client.connection_pool)
        self._reader = asyncio.create_task(self._read_forever(), name="codecrafter-bus-reader")

    async def close(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            await cancel_and_wait([reader])
        subscriptions = [s for subs in self._subscribers.values() for s in subs]
        self._subscribers.clear()
        for subscription in subscriptions:
            await subscription.close()
        for client in (self._client, self._pubsub_client):
            with contextlib.suppress(RedisError, OSError):  # closing a dead connection
                await client.aclose()

    async def ping(self) -> None:
        with _translated("ping"):
            await self._client.ping()

    # -- pub/sub -------------------------------------------------------------------------------

    async def publish(self, channel: str, message: bytes) -> None:
        with _translated("publish"):
            await self._client.publish(self._namespace + channel, message)

    async def publish_many(self, channel: str, messages: Sequence[bytes]) -> None:
        if len(messages) == 1:
            await self.publish(channel, messages[0])
            return
        with _translated("publish"):
            async with self._client.pipeline(transaction=False) as pipe:
                for message in messages:
                    pipe.publish(self._namespace + channel, message)
                await pipe.execute()

    async def subscribe(self, channel: str, handler: Handler) -> Subscription:
        await self.start()
        name = self._namespace + channel
        subscription = QueuedSubscription(name, handler, self._forget)
        self._subscribers.setdefault(name, set()).add(subscription)
        if name not in self._confirmed:
            try:
                await self._wait_subscribed(name)
            except BaseException:
                await subscription.close()
                raise
        return subscription

    async def _wait_subscribed(self, name: str) -> None:
        """Return once Redis confirmed SUBSCRIBE ``name`` on the live connection."""
        waiter = asyncio.get_running_loop().create_future()
        waiters = self._waiters.setdefault(name, [])
        waiters.append(waiter)
        try:
            if self._pubsub is not None:
                # If this fails the reader reconnects and subscribes every channel anyway.
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.subscribe(name)
            async with asyncio.timeout(self._subscribe_timeout_s):
                await waiter
        except TimeoutError as exc:
            raise BusError(f"Redis did not confirm the subscription to {name!r}.") from exc
        finally:
            waiters.remove(waiter)
            if not waiters:
                del self._waiters[name]

    async def _forget(self, subscription: QueuedSubscription) -> None:
        name = subscription.channel
        subscribers = self._subscribers.get(name)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if subscribers:
            return
        del self._subscribers[name]
        self._confirmed.discard(name)
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):  # a dead connection has no subscriptions
                await self._pubsub.unsubscribe(name)

    # -- the reader ----------------------------------------------------------------------------

    async def _read_forever(self) -> None:
        while True:
            pubsub = await self._connect_pubsub()
            try:
                await self._dispatch(pubsub)
            except (RedisError, OSError) as exc:
                log.warning("Lost the Redis pub/sub connection (%s); reconnecting", exc)
            finally:
                self._pubsub = None
                self._confirmed.clear()
                await _close_quietly(pubsub)

    @retry(
        retry=retry_if_exception_type((RedisError, OSError)),
        wait=wait_exponential_jitter(initial=0.05, max=2.0),
        before_sleep=before_sleep_log(log, logging.WARNING),
    )
    async def _connect_pubsub(self) -> PubSub:
        """A connected PubSub subscribed to every channel that has subscribers."""
        pubsub = self._pubsub_client.pubsub()
        try:
            await pubsub.connect()  # type: ignore[no-untyped-call]  # unannotated in redis-py
            if self._subscribers:
                await pubsub.subscribe(*self._subscribers)
        except BaseException:
            await _close_quietly(pubsub)
            raise
        self._pubsub = pubsub
        return pubsub

    async def _dispatch(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(timeout=None)
            if message is None:
                continue
            name = bytes(message["channel"]).decode()
            if message["type"] == "message":
                for subscription in list(self._subscribers.get(name, ())):
                    subscription.deliver(message["data"])
            elif message["type"] == "subscribe":
                self._confirmed.add(name)
                for waiter in self._waiters.get(name, ()):
                    if not waiter.done():
                        waiter.set_result(None)

    # -- cache ---------------------------------------------------------------------------------

    async def get(self, key: str) -> bytes | None:
        with _translated("get"):
            value = await self._client.get(self._namespace + key)
        # Responses are never decoded (no decode_responses), so a value is bytes.
        return cast(bytes | None, value)

    async def set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> None:
        px = None if ttl_s is None else ttl_ms(ttl_s)
        with _translated("set"):
            await self._client.set(self._namespace + key, value, px=px)

    async def set_if_absent(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bool:
        px = None if ttl_s is None else ttl_ms(ttl_s)
        with _translated("set"):
            return bool(await self._client.set(self._namespace + key, value, px=px, nx=True))

    async def get_or_set(self, key: str, value: bytes, *, ttl_s: float | None = None) -> bytes:
        px = "" if ttl_s is None else str(ttl_ms(ttl_s))
        with _translated("get_or_set"):
            current = await self._get_or_set(keys=[self._namespace + key], args=[value, px])
        return cast(bytes, current)

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        with _translated("delete"):
            await self._client.delete(*(self._namespace + key for key in keys))

    async def expire(self, key: str, ttl_s: float) -> bool:
        with _translated("expire"):
            return bool(await self._client.pexpire(self._namespace + key, ttl_ms(ttl_s)))

    async def hash_set(self, key: str, field: str, value: bytes, *, ttl_s: float) -> None:
        name = self._namespace + key
        with _translated("hset"):
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.hset(name, field, value)
                pipe.pexpire(name, ttl_ms(ttl_s))
                await pipe.execute()

    async def hash_delete(self, key: str, field: str) -> None:
        with _translated("hdel"):
            await self._client.hdel(self._namespace + key, field)

    async def hash_get_all(self, key: str) -> dict[str, bytes]:
        with _translated("hgetall"):
            fields = await self._client.hgetall(self._namespace + key)
        # Responses are never decoded (no decode_responses): names and values are bytes.
        raw = cast(dict[bytes, bytes], fields)
        return {name.decode(): value for name, value in raw.items()}
