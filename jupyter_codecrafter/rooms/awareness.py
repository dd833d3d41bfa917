"""Awareness (cursors, who is here) as the server keeps it for one room.

An awareness update is a varuint count of entries, each a varuint client id, a varuint
clock and a varstring JSON state (``null`` when the client left). An entry replaces the
known one when its clock is newer, or when it has the same clock and removes the state.

The server enforces what a stock Yjs server does not: a connection owns the client ids it
announces first and may only update those (stock y-websocket clients echo every awareness
change they receive, so entries about other ids are dropped quietly); the ``user`` field of
every state is set from the connection's authenticated identity.
"""

from __future__ import annotations

import json
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from .colours import colour_of
from .identity import Identity
from .protocol import ProtocolError, Reader, decode_json, var_string, var_uint

MAX_IDS_PER_OWNER = 8
MAX_STATE_BYTES = 64 * 1024
MAX_ENTRIES_PER_UPDATE = 256
OUTDATED_S = 30.0  # as y-protocols: a client renews its state every 15 s


@dataclass(slots=True)
class Entry:
    client_id: int
    clock: int
    state: Any  # a JSON value; None when the client has left
    updated_at: float


@dataclass(frozen=True, slots=True)
class Remote:
    """Owner of ids announced through another server instance."""

    instance_id: str


def decode_awareness(payload: bytes) -> list[Entry]:
    reader = Reader(payload)
    count = reader.var_uint()
    if count > MAX_ENTRIES_PER_UPDATE:
        raise ProtocolError("too many awareness entries")
    now = time.monotonic()
    entries = []
    for _ in range(count):
        client_id, clock, text = reader.var_uint(), reader.var_uint(), reader.var_string()
        if len(text) > MAX_STATE_BYTES:
            raise ProtocolError("awareness state too large")
        state = decode_json(text, "awareness state") if text else None
        entries.append(Entry(client_id, clock, state, now))
    return entries


def encode_awareness_entries(entries: Iterable[Entry]) -> bytes:
    items = list(entries)
    out = [var_uint(len(items))]
    for entry in items:
        text = json.dumps(entry.state, separators=(",", ":"), ensure_ascii=False)
        out += [var_uint(entry.client_id), var_uint(entry.clock), var_string(text)]
    return b"".join(out)


def with_identity(state: dict[str, Any], identity: Identity) -> dict[str, Any]:
    """The state with ``user`` set by the server; the client keeps only its colour."""
    claimed = state.get("user")
    color = claimed.get("color") if isinstance(claimed, dict) else None
    name = identity.display_name or identity.username
    user: dict[str, Any] = {
        "username": identity.username,
        "name": name,
        "display_name": name,
        "id": identity.user_id,
    }
    # The client's own colour if it chose one, else the one presence lists for this user.
    chosen = color if isinstance(color, str) and len(color) <= 64 else None
    user["color"] = chosen or colour_of(identity.user_id)
    return {**state, "user": user}


class AwarenessRegistry:
    """The awareness states of one room, with the owner of each client id."""

    def __init__(self) -> None:
        self._entries: dict[int, Entry] = {}
        self._owners: dict[int, Hashable] = {}

    def states(self) -> dict[int, Any]:
        """client id -> state, for present clients."""
        return {cid: e.state for cid, e in self._entries.items() if e.state is not None}

    def encode_present(self) -> bytes | None:
        """Every present client's entry, or None when nobody is here."""
        present = [e for e in self._entries.values() if e.state is not None]
        return encode_awareness_entries(present) if present else None

    def apply_from_client(
        self, owner: Hashable, identity: Identity, payload: bytes
    ) -> bytes | None:
        """Apply what a connection may change; the accepted entries, encoded, or None."""
        accepted = []
        for entry in decode_awareness(payload):
            if self._owners.get(entry.client_id) != owner and not self._claimable(owner, entry):
                continue
            if entry.state is not None:
                if not isinstance(entry.state, dict):
                    continue
                entry.state = with_identity(entry.state, identity)
            if self._apply(entry):
                self._owners[entry.client_id] = owner
                accepted.append(entry)
        return encode_awareness_entries(accepted) if accepted else None

    def apply_remote(self, instance_id: str, payload: bytes) -> bytes | None:
        """Apply entries another instance accepted; the new ones, encoded, or None."""
        owner = Remote(instance_id)
        accepted = []
        for entry in decode_awareness(payload):
            current = self._owners.get(entry.client_id)
            if current is not None and not isinstance(current, Remote):
                continue  # owned by one of our connections
            self._owners[entry.client_id] = owner
            if self._apply(entry):
                accepted.append(entry)
        return encode_awareness_entries(accepted) if accepted else None

    def remove_owner(self, owner: Hashable) -> bytes | None:
        """Mark every client of ``owner`` gone and forget the ownership."""
        ids = [cid for cid, o in self._owners.items() if o == owner]
        for cid in ids:
            del self._owners[cid]
        return self._remove(ids)

    def prune(self, now: float | None = None) -> bytes | None:
        """Forget entries gone for OUTDATED_S, and drop states of remote clients not renewed
        within OUTDATED_S (their instance may have died); the removals, encoded, or None."""
        now = time.monotonic() if now is None else now
        for cid in [
            cid
            for cid, e in self._entries.items()
            if e.state is None and now - e.updated_at > OUTDATED_S
        ]:
            del self._entries[cid]
            self._owners.pop(cid, None)
        return self._remove(
            [
                cid
                for cid, e in self._entries.items()
                if now - e.updated_at > OUTDATED_S and isinstance(self._owners.get(cid), Remote)
            ]
        )

    def _claimable(self, owner: Hashable, entry: Entry) -> bool:
        """Whether ``owner`` may take this client id: only by announcing a state, for an id
        nobody here holds (or whose remote holder left), within the per-owner limit. Stock
        clients echo the entries they receive; those never claim anything."""
        if entry.state is None:
            return False
        current = self._owners.get(entry.client_id)
        if current is not None:
            known = self._entries.get(entry.client_id)
            if not isinstance(current, Remote) or (known is not None and known.state is not None):
                return False
        return sum(1 for o in self._owners.values() if o == owner) < MAX_IDS_PER_OWNER

    def _apply(self, entry: Entry) -> bool:
        current = self._entries.get(entry.client_id)
        if current is None and entry.state is None:
            self._entries[entry.client_id] = entry  # remember the clock; nothing to announce
            return False
        if current is not None:
            newer = entry.clock > current.clock
            removes = entry.clock == current.clock and entry.state is None
            if not (newer or (removes and current.state is not None)):
                return False
        self._entries[entry.client_id] = entry
        return True

    def _remove(self, client_ids: list[int]) -> bytes | None:
        now = time.monotonic()
        removed = []
        for cid in client_ids:
            current = self._entries.get(cid)
            if current is not None and current.state is not None:
                # Same clock, null state: what y-protocols sends for a client that left.
                gone = Entry(cid, current.clock, None, now)
                self._entries[cid] = gone
                removed.append(gone)
        return encode_awareness_entries(removed) if removed else None
