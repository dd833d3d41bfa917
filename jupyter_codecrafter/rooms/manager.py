"""The rooms of this server instance: load on first use, unload when idle.

The WebSocket handler calls :meth:`RoomManager.connect` with its socket adapted to
:class:`Connection` and feeds the returned :class:`RoomClient`; services call
:meth:`RoomManager.edit` to write into a document, :meth:`set_role` and :meth:`close_room`
when permissions change or a session is deleted (these reach every instance via the bus).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal, overload

from jupyter_ydoc import YNotebook, YUnicode
from pycrdt import Doc

from ..bus.base import Bus
from ..errors import CodeCrafterError, ServiceUnavailable
from ..store.base import Store
from ..store.records import SessionKind, SessionRole
from .channel import DEFAULT_SEND_QUEUE, ClientChannel
from .documents import Document, content_of, doc_from_state, initial_update, wrap
from .identity import Connection, Identity
from .livecontent import catch_up
from .presence import PresenceBoard, PresenceWriter, Present
from .protocol import CLOSE_PROTOCOL_ERROR, CLOSE_SERVICE_RESTART, ProtocolError
from .replication import (
    current_holders,
    holder_ttl,
    publish_close,
    publish_notice,
    publish_role,
)
from .room import Room, RoomSettings, RoomStats

log = logging.getLogger("jupyter_codecrafter.rooms")

__all__ = [
    "Connection",
    "Identity",
    "RoomClient",
    "RoomManager",
    "RoomStats",
    "initial_update",
]


class RoomClient:
    """One connection's handle on its room."""

    def __init__(self, room: Room, channel: ClientChannel) -> None:
        self._room = room
        self._channel = channel

    async def receive(self, message: bytes) -> None:
        """Handle one binary WebSocket message."""
        if self._channel.closed:
            return
        try:
            self._room.receive(self._channel, message)
        except ProtocolError as exc:
            log.info(
                "Closing a room connection of user %s: %s", self._channel.identity.user_id, exc
            )
            self._room.detach(self._channel)
            await self._channel.close(CLOSE_PROTOCOL_ERROR, "Malformed y-websocket message.")

    async def disconnect(self) -> None:
        """The socket closed."""
        self._room.detach(self._channel)
        self._channel.abandon()


class _KeyedLocks:
    """One lock per session id, kept only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class RoomManager:
    def __init__(
        self,
        store: Store,
        bus: Bus,
        *,
        instance_id: str,
        idle_unload_s: float = 60.0,
        resync_interval_s: float = 10.0,
        compact_every: int = 500,
        send_queue_size: int = DEFAULT_SEND_QUEUE,
    ) -> None:
        self._store = store
        self._bus = bus
        self._instance_id = instance_id
        self._idle_unload_s = idle_unload_s
        self._send_queue_size = send_queue_size
        self._settings = RoomSettings(instance_id, resync_interval_s, compact_every)
        self._rooms: dict[str, Room] = {}
        self._locks = _KeyedLocks()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._running = False
        self._presence = PresenceBoard(bus, instance_id, refresh_s=resync_interval_s)
        self._presence_writer = PresenceWriter(self._presence, self._rooms)

    async def start(self) -> None:
        self._running = True
        self._presence_writer.start()

    async def stop(self) -> None:
        """Close every connection (1012: reconnect, to another instance behind a load
        balancer), then compact and unload every room."""
        self._running = False
        await self._presence_writer.stop()
        for session_id in list(self._rooms):
            await self._unload(
                session_id, persist=True, code=CLOSE_SERVICE_RESTART, reason="Server restarting."
            )
        tasks, self._tasks = list(self._tasks), set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def connect(
        self,
        session_id: str,
        kind: SessionKind,
        conn: Connection,
        *,
        identity: Identity,
        role: SessionRole,
    ) -> RoomClient:
        """Join ``conn`` to the session's room (loading it if needed) and start its sync."""
        async with self._locks.hold(session_id):
            room = await self._loaded(session_id, kind)
            channel = ClientChannel(
                conn, identity, role, on_lost=room.detach, max_queue=self._send_queue_size
            )
            room.attach(channel)
        log.debug("User %s joined room %s as %s", identity.user_id, session_id, role)
        return RoomClient(room, channel)

    async def set_role(self, session_id: str, user_id: str, role: SessionRole | None) -> None:
        """Apply a role change to the user's live connections on every instance.

        Done here before returning; other instances get it through the bus (BusError when
        it cannot be published).
        """
        room = self._rooms.get(session_id)
        if room is not None:
            await room.apply_role(user_id, role)
        await publish_role(self._bus, session_id, self._instance_id, user_id, role)

    async def presence(self, session_id: str) -> list[Present]:
        """Who is connected to the session's room now, on every instance."""
        return await self._presence.read(session_id)

    async def notify(self, session_id: str, payload: dict[str, Any]) -> None:
        """A control message for every client of the room, on every instance."""
        await publish_notice(self._bus, session_id, self._instance_id, payload)
        room = self._rooms.get(session_id)
        if room is not None:  # our own envelopes are not delivered back to us
            room.notify(payload)

    async def close_room(self, session_id: str, code: int, reason: str) -> None:
        """Close every connection of the room on every instance; unload without saving."""
        await self._unload(session_id, persist=False, code=code, reason=reason)
        await publish_close(self._bus, session_id, self._instance_id, code, reason)

    @overload
    def edit(
        self, session_id: str, kind: Literal[SessionKind.NOTEBOOK]
    ) -> AbstractAsyncContextManager[YNotebook]: ...

    @overload
    def edit(
        self, session_id: str, kind: Literal[SessionKind.FILE]
    ) -> AbstractAsyncContextManager[YUnicode]: ...

    @overload
    def edit(self, session_id: str, kind: SessionKind) -> AbstractAsyncContextManager[Document]: ...

    def edit(self, session_id: str, kind: SessionKind) -> AbstractAsyncContextManager[Document]:
        """The loaded document, for the server to write into; changes reach every client,
        the store and the other instances. The room stays loaded meanwhile."""
        return self._edit(session_id, kind)

    @asynccontextmanager
    async def _edit(self, session_id: str, kind: SessionKind) -> AsyncIterator[Document]:
        async with self._locks.hold(session_id):
            room = await self._loaded(session_id, kind)
            room.leases += 1
            room.cancel_idle_timer()
        try:
            yield room.document
        finally:
            room.leases -= 1
            if room.idle:
                self._idle(room)

    def apply_stored(self, session_id: str, update: bytes) -> None:
        """Inside :meth:`edit`: show a change the caller appended to the store itself.
        Every client and instance gets it; the room does not store it a second time."""
        self._rooms[session_id].apply_stored(update)

    async def get_content(self, session_id: str, kind: SessionKind) -> dict[str, Any] | str:
        """The live document as an nbformat dict or text: this instance's room (else the
        store), with what other instances holding the room have and it lacks."""
        room = self._rooms.get(session_id)
        others = await self._other_holders(session_id)
        if room is not None and not others and not room.body.sleeping:
            return content_of(room.document)
        if room is not None:  # a copy: reading does not wake a sleeping document
            doc: Doc[Any] = Doc()
            doc.apply_update(room.body.full_state())
        else:
            doc = doc_from_state(session_id, await self._store.documents.load(session_id))
        if others:
            await self._catch_up(session_id, doc, others)
        return content_of(wrap(kind, doc))

    async def _other_holders(self, session_id: str) -> set[str]:
        ttl_s = holder_ttl(self._settings.resync_interval_s)
        try:
            holders = await current_holders(self._bus, session_id, ttl_s=ttl_s)
        except CodeCrafterError as exc:  # the rooms work without it; reads may lag a moment
            log.warning("Could not tell where room %s is loaded: %s", session_id, exc)
            return set()
        return holders - {self._instance_id}

    async def _catch_up(self, session_id: str, doc: Doc[Any], holders: set[str]) -> None:
        try:
            await catch_up(self._bus, session_id, self._instance_id, doc, holders)
        except CodeCrafterError as exc:
            log.warning("Could not ask for the live content of room %s: %s", session_id, exc)

    def stats(self) -> list[RoomStats]:
        return [room.stats() for room in self._rooms.values()]

    def room(self, session_id: str) -> Room | None:
        """The loaded room, if any (diagnostics and tests)."""
        return self._rooms.get(session_id)

    async def _loaded(self, session_id: str, kind: SessionKind) -> Room:
        """The room, loaded if needed; call with the session's lock held."""
        if not self._running:
            raise ServiceUnavailable("The rooms are shutting down.")
        room = self._rooms.get(session_id)
        if room is not None:
            if room.kind is not kind:
                raise ValueError(f"session {session_id} is a {room.kind}, not a {kind}")
            return room
        room = Room(
            session_id,
            kind,
            store=self._store,
            bus=self._bus,
            settings=self._settings,
            on_idle=self._idle,
            on_closed_elsewhere=self._closed_elsewhere,
            on_presence=lambda room: self._presence_writer.changed(room.session_id),
        )
        await room.open()
        self._rooms[session_id] = room
        log.debug("Loaded room %s", session_id)
        return room

    async def _unload(self, session_id: str, *, persist: bool, code: int, reason: str) -> None:
        async with self._locks.hold(session_id):
            room = self._rooms.pop(session_id, None)
            if room is None:
                return
            await room.close_all(code, reason)
            await room.shutdown(persist=persist)
        log.debug("Unloaded room %s (%s)", session_id, "saved" if persist else "discarded")

    def _idle(self, room: Room) -> None:
        if self._running and room.idle_timer is None and self._rooms.get(room.session_id) is room:
            room.idle_timer = self._spawn(self._unload_when_idle(room))

    async def _unload_when_idle(self, room: Room) -> None:
        await asyncio.sleep(self._idle_unload_s)
        async with self._locks.hold(room.session_id):
            if self._rooms.get(room.session_id) is not room or not room.idle:
                return
            room.idle_timer = None
            del self._rooms[room.session_id]
            await room.shutdown(persist=True)
        log.debug("Unloaded idle room %s", room.session_id)

    def _closed_elsewhere(self, room: Room, code: int, reason: str) -> None:
        # Not awaited here: this runs in the room's own bus subscription, which unloading
        # closes.
        self._spawn(self._unload(room.session_id, persist=False, code=code, reason=reason))

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(_log_failure)
        return task


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("A room task failed", exc_info=task.exception())
