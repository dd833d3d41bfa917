"""Who is connected to a session right now, on every server instance.

Each instance keeps one field of the session's presence hash in the bus: the users of its
own connections to the room. It rewrites the field when someone joins or leaves and every
``refresh_s`` while the room has connections, so the hash outlives no instance by more than
``ttl_s``; entries an instance stopped renewing (it died) are ignored once stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ..bus.base import Bus
from ..constants import PRESENCE_KEY_PREFIX
from ..store.records import SessionRole
from .channel import ClientChannel
from .colours import colour_of

if TYPE_CHECKING:
    from .room import Room

log = logging.getLogger("jupyter_codecrafter.rooms")


@dataclass(frozen=True, slots=True)
class Present:
    user_id: str
    username: str
    display_name: str
    role: str
    colour: str
    connections: int


def local_presence(channels: Iterable[ClientChannel]) -> list[Present]:
    """This instance's users of a room: one entry per user, with their strongest role."""
    by_user: dict[str, list[ClientChannel]] = {}
    for channel in channels:
        by_user.setdefault(channel.identity.user_id, []).append(channel)
    return [_present(user_channels) for user_channels in by_user.values()]


def _present(channels: list[ClientChannel]) -> Present:
    identity = channels[0].identity
    role = max((c.role for c in channels), key=lambda r: r.rank)
    return Present(
        identity.user_id,
        identity.username,
        identity.display_name or identity.username,
        str(role),
        colour_of(identity.user_id),
        len(channels),
    )


class PresenceBoard:
    """Writes this instance's presence entries and reads everyone's."""

    def __init__(self, bus: Bus, instance_id: str, *, refresh_s: float = 10.0) -> None:
        self._bus = bus
        self._instance_id = instance_id
        self.refresh_s = refresh_s
        self.ttl_s = refresh_s * 3

    async def publish(self, session_id: str, entries: list[Present]) -> None:
        key = PRESENCE_KEY_PREFIX + session_id
        if not entries:
            await self._bus.hash_delete(key, self._instance_id)
            return
        value = {"at": time.time(), "users": [asdict(entry) for entry in entries]}
        await self._bus.hash_set(
            key, self._instance_id, json.dumps(value).encode(), ttl_s=self.ttl_s
        )

    async def read(self, session_id: str) -> list[Present]:
        """Everyone connected, merged across instances, by name."""
        fields = await self._bus.hash_get_all(PRESENCE_KEY_PREFIX + session_id)
        merged: dict[str, Present] = {}
        for raw in fields.values():
            for entry in self._fresh_entries(raw):
                merged[entry.user_id] = _merge(merged.get(entry.user_id), entry)
        return sorted(merged.values(), key=lambda p: (p.display_name.lower(), p.user_id))

    def _fresh_entries(self, raw: bytes) -> list[Present]:
        try:
            value = json.loads(raw)
            if time.time() - float(value["at"]) > self.ttl_s:
                return []  # an instance that stopped renewing: gone
            return [Present(**entry) for entry in value["users"]]
        except (ValueError, TypeError, KeyError):
            log.warning("Ignoring a malformed presence entry")
            return []


def _merge(known: Present | None, entry: Present) -> Present:
    if known is None:
        return entry
    ranks = {role.value: role.rank for role in SessionRole}
    role = max(known.role, entry.role, key=lambda r: ranks.get(r, 0))
    connections = known.connections + entry.connections
    return Present(**{**asdict(known), "role": role, "connections": connections})


class PresenceWriter:
    """Debounced publishing of the rooms whose connections changed, plus a periodic renewal."""

    def __init__(self, board: PresenceBoard, rooms: Mapping[str, Room]) -> None:
        self._board = board
        self._rooms = rooms  # the manager's loaded rooms, by session id
        self._dirty: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="codecrafter-presence")

    async def stop(self) -> None:
        # The flag ends the loop even when the cancellation is swallowed (a cancel that
        # lands as a Redis call or the wait ends is not always re-raised).
        self._stopped = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def changed(self, session_id: str) -> None:
        self._dirty.add(session_id)
        self._wake.set()

    async def _run(self) -> None:
        while not self._stopped:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._board.refresh_s):
                    await self._wake.wait()
            if self._stopped:
                return
            self._wake.clear()
            dirty, self._dirty = self._dirty | set(self._rooms), set()
            for session_id in dirty:
                await self._publish(session_id)

    async def _publish(self, session_id: str) -> None:
        try:
            room = self._rooms.get(session_id)
            entries = local_presence(room.channels) if room is not None else []
            await self._board.publish(session_id, entries)
        except Exception:  # presence is advisory: a bus outage must not stop the rooms
            log.warning("Could not publish the presence of room %s", session_id, exc_info=True)
