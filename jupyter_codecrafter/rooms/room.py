"""One loaded room: a session's Y document, its connections on this instance, awareness.

Every change to the document, whoever makes it, is seen once by the document observer,
which knows where it came from:

- a client of this instance: sent to the other clients, appended to the store, published;
- the server's own edit (:meth:`RoomManager.edit`): sent to every client, stored, published;
- another instance or the store: sent to every client only (its origin stored it).

Readers receive everything; their document updates are dropped on their own connection.

The document sleeps (see ``sleepydoc``) once loaded, and again after a re-sync interval in
which nothing changed it and no server edit held it.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jupyter_ydoc import YNotebook, YUnicode
from pycrdt import Doc, TransactionEvent

from .. import metrics
from ..bus.base import Bus
from ..store.base import Store
from ..store.records import DocumentState, SessionKind, SessionRole
from .awareness import AwarenessRegistry
from .channel import ClientChannel
from .documents import apply_stored, wrap
from .persistence import RoomPersistence
from .protocol import (
    CLOSE_REMOVED,
    EMPTY_UPDATE,
    AwarenessUpdate,
    ProtocolError,
    QueryAwareness,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_message,
    encode_awareness,
    encode_control,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from .replication import RoomReplica
from .sleepydoc import SleepyDoc
from .yupdates import is_noop_for

log = logging.getLogger("jupyter_codecrafter.rooms")


class _Source(enum.Enum):
    CLIENT = "client"  # a connection of this instance
    EXTERNAL = "external"  # another instance, or the store
    STORED = "stored"  # this instance's server, already appended to the store by its maker


@dataclass(frozen=True, slots=True)
class RoomSettings:
    instance_id: str
    resync_interval_s: float
    compact_every: int


@dataclass(frozen=True, slots=True)
class RoomStats:
    session_id: str
    connections: int
    doc_size_bytes: int  # length of the document's full state as one update
    updates_since_snapshot: int
    awake: bool = True  # whether the document is loaded, not only its encoding


class Room:
    def __init__(
        self,
        session_id: str,
        kind: SessionKind,
        *,
        store: Store,
        bus: Bus,
        settings: RoomSettings,
        on_idle: Callable[[Room], None],
        on_closed_elsewhere: Callable[[Room, int, str], None],
        on_presence: Callable[[Room], None] = lambda room: None,
    ) -> None:
        self.session_id = session_id
        self.kind = kind
        self.body = SleepyDoc(self._on_transaction)
        self._document: YNotebook | YUnicode | None = None
        self._changed = False  # since the last tick
        self.awareness = AwarenessRegistry()
        self.channels: set[ClientChannel] = set()
        self.leases = 0  # edits in progress
        self.idle_timer: asyncio.Task[None] | None = None
        self._on_idle = on_idle
        self._on_closed_elsewhere = on_closed_elsewhere
        self._on_presence = on_presence
        self._source: tuple[_Source, ClientChannel | None] | None = None
        self.persistence = RoomPersistence(
            store,
            session_id,
            compact_every=settings.compact_every,
            absorb=self._absorb,
            snapshot=self.body.full_state,
        )
        self.replica = RoomReplica(
            bus,
            session_id,
            settings.instance_id,
            self,
            resync_interval_s=settings.resync_interval_s,
        )

    @property
    def idle(self) -> bool:
        return not self.channels and self.leases == 0

    @property
    def doc(self) -> Doc[Any]:
        """The live Y document (woken if it sleeps)."""
        return self.body.doc

    @property
    def document(self) -> YNotebook | YUnicode:
        """The jupyter-ydoc document over :attr:`doc` (woken if it sleeps)."""
        doc = self.body.doc
        if self._document is None or self._document.ydoc is not doc:
            self._document = wrap(self.kind, doc)
        return self._document

    async def open(self) -> None:
        """Subscribe first, then load: nothing published meanwhile is missed."""
        await self.replica.start()
        try:
            await self.persistence.load()
        except BaseException:
            await self.replica.stop(flush=False)
            raise
        self.persistence.start()
        self.replica.request_resync()
        self._sleep()

    async def shutdown(self, *, persist: bool) -> None:
        self.cancel_idle_timer()
        await self.replica.stop(flush=persist)
        await self.persistence.stop(persist=persist)
        self._document = None
        self.body.close()

    def tick(self) -> None:
        """Every re-sync interval: forget stale awareness, and let the document sleep if
        nothing changed it since the last tick."""
        self.prune_awareness()
        if not self._changed and self.leases == 0:
            self._sleep()
        self._changed = False

    def _sleep(self) -> None:
        self._document = None
        self.body.sleep()

    def cancel_idle_timer(self) -> None:
        timer, self.idle_timer = self.idle_timer, None
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    def stats(self) -> RoomStats:
        return RoomStats(
            session_id=self.session_id,
            connections=len(self.channels),
            doc_size_bytes=len(self.body.full_state()),
            updates_since_snapshot=self.persistence.updates_since_snapshot,
            awake=not self.body.sleeping,
        )

    # Connections

    def attach(self, channel: ClientChannel) -> None:
        """Start a client's sync: our state vector, then who is here."""
        self.channels.add(channel)
        self.cancel_idle_timer()
        channel.enqueue(encode_sync_step1(self.body.state()))
        present = self.awareness.encode_present()
        if present is not None:
            channel.enqueue(encode_awareness(present))
        self._on_presence(self)

    def detach(self, channel: ClientChannel) -> None:
        """Forget a connection (idempotent) and tell everyone its clients left."""
        if channel not in self.channels:
            return
        self.channels.discard(channel)
        removed = self.awareness.remove_owner(channel)
        if removed is not None:
            self._broadcast(encode_awareness(removed))
            self.replica.publish_awareness(removed)
        self._on_presence(self)
        if self.idle:
            self._on_idle(self)

    async def close_all(self, code: int, reason: str) -> None:
        for channel in list(self.channels):
            self.channels.discard(channel)
            await channel.close(code, reason)

    def receive(self, channel: ClientChannel, data: bytes) -> None:
        """Handle one message from a client; ProtocolError when it is malformed."""
        message = decode_message(data)
        if isinstance(message, SyncStep1):
            channel.enqueue(encode_sync_step2(self._update_for(message.state)))
        elif isinstance(message, SyncStep2 | SyncUpdate):
            self._client_update(channel, message.update)
        elif isinstance(message, AwarenessUpdate):
            self._client_awareness(channel, message.payload)
        elif isinstance(message, QueryAwareness):
            channel.enqueue(encode_awareness(self.awareness.encode_present() or b"\x00"))
        # Anything else (auth, control, future types) has nothing for the server to do.

    async def apply_role(self, user_id: str, role: SessionRole | None) -> None:
        """Apply a role change to this instance's connections of ``user_id``."""
        for channel in [c for c in self.channels if c.identity.user_id == user_id]:
            if role is None:
                self.detach(channel)
                await channel.close(CLOSE_REMOVED, "Your access to this session was removed.")
                continue
            could_write = channel.can_write
            channel.role = role
            channel.enqueue(encode_control({"type": "role", "role": role.value}))
            self._on_presence(self)
            if channel.can_write and not could_write:
                # Ask for what the client has and we lack: edits made after one of its
                # dropped updates depend on it and would otherwise never integrate.
                channel.enqueue(encode_sync_step1(self.body.state()))

    # Document changes

    def _update_for(self, state: bytes) -> bytes:
        try:
            return self.body.diff(state)
        except ValueError as exc:
            raise ProtocolError("undecodable state vector") from exc

    def _client_update(self, channel: ClientChannel, update: bytes) -> None:
        if not channel.can_write:
            if not is_noop_for(update, self.body.state(), self.body.deletes()):
                log.debug("Dropped an update from reader %s", channel.identity.user_id)
                channel.notify_read_only()
            return
        if update == EMPTY_UPDATE:
            return
        self._source = (_Source.CLIENT, channel)
        try:
            self.body.apply_update(update)
        except ValueError as exc:
            raise ProtocolError("undecodable update") from exc
        finally:
            self._source = None

    def apply_stored(self, update: bytes) -> None:
        """Apply a server change its maker already appended to the store (the output
        writer, which must store before it shows): clients and other instances get it, the
        store does not get it twice."""
        self._source = (_Source.STORED, None)
        try:
            self.body.apply_update(update)
        finally:
            self._source = None

    def apply_external(self, update: bytes) -> None:
        """Apply an update from another instance (not stored again, not republished)."""
        self._source = (_Source.EXTERNAL, None)
        try:
            self.body.apply_update(update)
        except ValueError:
            log.warning("Ignoring an undecodable update for room %s", self.session_id)
        finally:
            self._source = None

    def _absorb(self, state: DocumentState) -> None:
        self._source = (_Source.EXTERNAL, None)
        try:
            apply_stored(self.body, self.session_id, state)
        finally:
            self._source = None

    def _on_transaction(self, event: TransactionEvent) -> None:
        update = event.update
        if update == EMPTY_UPDATE:
            return
        self._changed = True
        # No source set: the server's own edit through RoomManager.edit().
        source, sender = self._source or (None, None)
        self._broadcast(encode_update(update), skip=sender)
        metrics.room_update(source and source.value, clients=len(self.channels) - bool(sender))
        if source is _Source.STORED:
            self.persistence.count_stored()
        elif source is not _Source.EXTERNAL:
            self.persistence.enqueue(update)
        if source is not _Source.EXTERNAL:
            self.replica.publish_update(update)

    def _broadcast(self, message: bytes, *, skip: ClientChannel | None = None) -> None:
        for channel in list(self.channels):
            if channel is not skip:
                channel.enqueue(message)

    # Awareness

    def _client_awareness(self, channel: ClientChannel, payload: bytes) -> None:
        accepted = self.awareness.apply_from_client(channel, channel.identity, payload)
        if accepted is not None:
            self._broadcast(encode_awareness(accepted), skip=channel)
            self.replica.publish_awareness(accepted)

    def apply_remote_awareness(self, instance_id: str, payload: bytes) -> None:
        accepted = self.awareness.apply_remote(instance_id, payload)
        if accepted is not None:
            self._broadcast(encode_awareness(accepted))

    def prune_awareness(self) -> None:
        removed = self.awareness.prune()
        if removed is not None:
            self._broadcast(encode_awareness(removed))

    def notify(self, payload: dict[str, Any]) -> None:
        """A control message (type 10) for every client here."""
        self._broadcast(encode_control(payload))

    def closed_elsewhere(self, code: int, reason: str) -> None:
        self._on_closed_elsewhere(self, code, reason)
