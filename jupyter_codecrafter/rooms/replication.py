"""Keeping one room's document in step across server instances, through the bus.

Every instance that has the room loaded subscribes to ``ROOM_CHANNEL_PREFIX + session_id``.
A message is an envelope: kind byte, varstring origin instance id, then varbytes parts.

==============  ===================================================================
kind            parts
==============  ===================================================================
UPDATE          a Y update made on the origin instance
AWARENESS       an awareness update the origin instance accepted
SYNC_REQUEST    the origin's state vector and delete set
SYNC_REPLY      the requester's instance id, the update it lacks
ROLE            JSON ``{"user_id", "role"}`` (role null: access removed)
CLOSE           JSON ``{"code", "reason"}``: the session is gone
NOTICE          JSON control message for every client of the room
CONTENT_REQUEST a request id, the requester's state vector (see ``livecontent``)
CONTENT_REPLY   the request id, the update the requester lacks (always sent)
==============  ===================================================================

Pub/sub may drop messages, so every ``resync_interval_s`` each instance publishes its state
vector and delete set; an instance that has something the requester lacks answers with
exactly that diff, and only then. Applying a Y update twice is harmless.

Each instance with the room loaded is also listed as one of its holders (a field of a hash
in the bus, with the time it was last renewed): who must answer a content request.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import time
from typing import Any, Protocol

from pycrdt import merge_updates

from ..bus.base import Bus, Subscription
from ..constants import ROOM_CHANNEL_PREFIX
from ..errors import CodeCrafterError
from ..store.records import SessionRole
from .protocol import ProtocolError, Reader, var_bytes, var_string
from .sleepydoc import SleepyDoc

log = logging.getLogger("jupyter_codecrafter.rooms")

FLUSH_TIMEOUT_S = 5.0


class Kind(enum.IntEnum):
    UPDATE = 1
    AWARENESS = 2
    SYNC_REQUEST = 3
    SYNC_REPLY = 4
    ROLE = 5
    CLOSE = 6
    NOTICE = 7  # a control message for every client of the room (e.g. the kernel's state)
    CONTENT_REQUEST = 8
    CONTENT_REPLY = 9


# Marks the end of the outbox when a room unloads.
_FLUSHED: tuple[Kind, tuple[bytes, ...]] = (Kind.CLOSE, ())


# A hash per session: instance id -> when it last said it holds the room (time.time()).
HOLDERS_KEY_PREFIX = "codecrafter:room-holders:"


def room_channel(session_id: str) -> str:
    return ROOM_CHANNEL_PREFIX + session_id


def holders_key(session_id: str) -> str:
    return HOLDERS_KEY_PREFIX + session_id


def holder_ttl(resync_interval_s: float) -> float:
    """How long a holder's entry stays fresh: it is renewed every re-sync interval."""
    return 3 * resync_interval_s


async def current_holders(bus: Bus, session_id: str, *, ttl_s: float) -> set[str]:
    """The instances that hold the room and renewed that within ``ttl_s``."""
    fields = await bus.hash_get_all(holders_key(session_id))
    now = time.time()
    return {instance for instance, at in fields.items() if now - _float(at) <= ttl_s}


def _float(raw: bytes) -> float:
    try:
        return float(raw)
    except ValueError:
        return 0.0  # not ours: never fresh


def encode_envelope(kind: Kind, origin: str, *parts: bytes) -> bytes:
    return bytes((kind,)) + var_string(origin) + b"".join(var_bytes(p) for p in parts)


def decode_envelope(data: bytes) -> tuple[Kind, str, list[bytes]]:
    if not data:
        raise ProtocolError("empty envelope")
    try:
        kind = Kind(data[0])
    except ValueError as exc:
        raise ProtocolError(f"unknown envelope kind {data[0]}") from exc
    reader = Reader(data[1:])
    origin = reader.var_string()
    parts = []
    while not reader.done:
        parts.append(reader.var_bytes())
    return kind, origin, parts


async def publish_role(
    bus: Bus, session_id: str, instance_id: str, user_id: str, role: SessionRole | None
) -> None:
    payload = {"user_id": user_id, "role": None if role is None else role.value}
    await bus.publish(
        room_channel(session_id), encode_envelope(Kind.ROLE, instance_id, _json(payload))
    )


async def publish_close(
    bus: Bus, session_id: str, instance_id: str, code: int, reason: str
) -> None:
    payload = {"code": code, "reason": reason}
    await bus.publish(
        room_channel(session_id), encode_envelope(Kind.CLOSE, instance_id, _json(payload))
    )


async def publish_notice(bus: Bus, session_id: str, origin: str, payload: dict[str, Any]) -> None:
    """Send ``payload`` as a control message to every client of the room, on every instance
    (workers use it too: ``origin`` is whoever publishes)."""
    await bus.publish(
        room_channel(session_id), encode_envelope(Kind.NOTICE, origin, _json(payload))
    )


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


class ReplicaHost(Protocol):
    """What the replica needs from its room."""

    body: SleepyDoc  # the room's document, asleep or not

    def apply_external(self, update: bytes) -> None: ...

    def apply_remote_awareness(self, instance_id: str, payload: bytes) -> None: ...

    def tick(self) -> None: ...

    async def apply_role(self, user_id: str, role: SessionRole | None) -> None: ...

    def closed_elsewhere(self, code: int, reason: str) -> None: ...

    def notify(self, payload: dict[str, Any]) -> None: ...


class RoomReplica:
    def __init__(
        self,
        bus: Bus,
        session_id: str,
        instance_id: str,
        host: ReplicaHost,
        *,
        resync_interval_s: float,
    ) -> None:
        self._bus = bus
        self._session_id = session_id
        self._channel = room_channel(session_id)
        self._instance_id = instance_id
        self._host = host
        self._resync_interval_s = resync_interval_s
        self.holder_ttl_s = holder_ttl(resync_interval_s)
        self._outbox: asyncio.Queue[tuple[Kind, tuple[bytes, ...]]] = asyncio.Queue()
        self._subscription: Subscription | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Subscribe, say this instance holds the room, then start publishing and
        re-syncing."""
        await self.subscribe()
        await self._hold()
        name = self._session_id
        self._tasks = [  # stop() relies on this order
            asyncio.create_task(self._resync_loop(), name=f"codecrafter-resync:{name}"),
            asyncio.create_task(self._publish_loop(), name=f"codecrafter-publish:{name}"),
        ]

    async def stop(self, *, flush: bool = True) -> None:
        """Stop re-syncing; with ``flush``, publish what is queued first (briefly), so other
        instances get this instance's last edits; then unsubscribe."""
        tasks, self._tasks = self._tasks, []
        if tasks:
            resync, publisher = tasks
            resync.cancel()
            if flush:
                self._outbox.put_nowait(_FLUSHED)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(FLUSH_TIMEOUT_S):
                        await asyncio.shield(publisher)
            for task in (resync, publisher):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.unsubscribe()
        await self._release()

    async def _hold(self) -> None:
        stamp = str(time.time()).encode()
        try:
            await self._bus.hash_set(
                holders_key(self._session_id), self._instance_id, stamp, ttl_s=self.holder_ttl_s
            )
        except CodeCrafterError as exc:  # only content requests wait on it, not the room
            log.warning("Could not list room %s as held here: %s", self._session_id, exc)

    async def _release(self) -> None:
        with contextlib.suppress(CodeCrafterError):  # it expires anyway
            await self._bus.hash_delete(holders_key(self._session_id), self._instance_id)

    async def subscribe(self) -> None:
        if self._subscription is None:
            self._subscription = await self._bus.subscribe(self._channel, self._on_message)

    async def unsubscribe(self) -> None:
        """Stop receiving (also what a lost pub/sub connection looks like)."""
        subscription, self._subscription = self._subscription, None
        if subscription is not None:
            with contextlib.suppress(CodeCrafterError):
                await subscription.close()

    def publish_update(self, update: bytes) -> None:
        self._outbox.put_nowait((Kind.UPDATE, (update,)))

    def publish_awareness(self, payload: bytes) -> None:
        self._outbox.put_nowait((Kind.AWARENESS, (payload,)))

    def request_resync(self) -> None:
        body = self._host.body
        self._outbox.put_nowait((Kind.SYNC_REQUEST, (body.state(), body.deletes())))

    async def _resync_loop(self) -> None:
        while True:
            await asyncio.sleep(self._resync_interval_s)
            self._host.tick()
            self.request_resync()
            await self._hold()

    async def _publish_loop(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            flushed = any(item is _FLUSHED for item in batch)
            for kind, parts in _coalesced([item for item in batch if item is not _FLUSHED]):
                await self._publish(kind, *parts)
            if flushed:
                return

    async def _publish(self, kind: Kind, *parts: bytes) -> None:
        try:
            await self._bus.publish(self._channel, encode_envelope(kind, self._instance_id, *parts))
        except Exception as exc:  # at-most-once anyway: the periodic re-sync repairs it
            log.warning("Publishing to room %s failed: %s", self._session_id, exc)

    async def _on_message(self, data: bytes) -> None:
        try:
            kind, origin, parts = decode_envelope(data)
        except ProtocolError as exc:
            log.warning("Ignoring a malformed message on room %s: %s", self._session_id, exc)
            return
        if origin == self._instance_id:
            return
        try:
            await self._dispatch(kind, origin, parts)
        except (ProtocolError, IndexError, KeyError, TypeError, ValueError) as exc:
            log.warning(
                "Ignoring a bad %s message on room %s: %s", kind.name, self._session_id, exc
            )

    async def _dispatch(self, kind: Kind, origin: str, parts: list[bytes]) -> None:
        handlers = {
            Kind.UPDATE: self._on_update,
            Kind.AWARENESS: self._on_awareness,
            Kind.SYNC_REQUEST: self._on_sync_request,
            Kind.SYNC_REPLY: self._on_sync_reply,
            Kind.ROLE: self._on_role,
            Kind.CLOSE: self._on_close,
            Kind.NOTICE: self._on_notice,
            Kind.CONTENT_REQUEST: self._on_content_request,
        }
        handler = handlers.get(kind)
        if handler is not None:  # content replies are for the requester's own subscription
            await handler(origin, parts)

    async def _on_update(self, origin: str, parts: list[bytes]) -> None:
        self._host.apply_external(parts[0])

    async def _on_awareness(self, origin: str, parts: list[bytes]) -> None:
        self._host.apply_remote_awareness(origin, parts[0])

    async def _on_sync_request(self, origin: str, parts: list[bytes]) -> None:
        body = self._host.body
        if body.has_news(parts[0], parts[1]):
            await self._publish(Kind.SYNC_REPLY, origin.encode(), body.diff(parts[0]))

    async def _on_sync_reply(self, origin: str, parts: list[bytes]) -> None:
        if parts[0].decode() == self._instance_id:
            self._host.apply_external(parts[1])

    async def _on_role(self, origin: str, parts: list[bytes]) -> None:
        payload = json.loads(parts[0])
        role = None if payload["role"] is None else SessionRole(payload["role"])
        await self._host.apply_role(str(payload["user_id"]), role)

    async def _on_close(self, origin: str, parts: list[bytes]) -> None:
        payload = json.loads(parts[0])
        self._host.closed_elsewhere(int(payload["code"]), str(payload["reason"]))

    async def _on_notice(self, origin: str, parts: list[bytes]) -> None:
        self._host.notify(dict(json.loads(parts[0])))

    async def _on_content_request(self, origin: str, parts: list[bytes]) -> None:
        request_id, state = parts[0], parts[1]
        await self._publish(Kind.CONTENT_REPLY, request_id, self._host.body.diff(state))


def _coalesced(
    batch: list[tuple[Kind, tuple[bytes, ...]]],
) -> list[tuple[Kind, tuple[bytes, ...]]]:
    """Runs of consecutive updates merged into one message; everything else kept in order."""
    out: list[tuple[Kind, tuple[bytes, ...]]] = []
    run: list[bytes] = []
    for kind, parts in [*batch, (Kind.CLOSE, ())]:  # the sentinel flushes the last run
        if kind is Kind.UPDATE:
            run.append(parts[0])
            continue
        if run:
            out.append((Kind.UPDATE, (merge_updates(*run) if len(run) > 1 else run[0],)))
            run = []
        out.append((kind, parts))
    return out[:-1]
