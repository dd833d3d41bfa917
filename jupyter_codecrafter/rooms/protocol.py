"""The y-websocket wire protocol, plus our control message.

Every WebSocket message is one binary frame: a varuint message type, then its body.

=====  ================  ==========================================================
type   name              body
=====  ================  ==========================================================
0      sync              varuint step (0 step 1, 1 step 2, 2 update), varbytes payload
1      awareness         varbytes awareness update
2      auth              (server to client only; y-websocket's permission denied)
3      query awareness   nothing
10     control           varstring JSON ``{"type": "read_only" | "role", ...}``
=====  ================  ==========================================================

Type 10 is ours: stock y-websocket clients log it as an unknown message and carry on;
the CodeCrafter frontend registers a handler for it. Integers are lib0 varuints (7 bits per
byte, little end first); strings are varuint byte length + UTF-8.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pycrdt import merge_updates

MESSAGE_SYNC: Final = 0
MESSAGE_AWARENESS: Final = 1
MESSAGE_AUTH: Final = 2
MESSAGE_QUERY_AWARENESS: Final = 3
MESSAGE_CONTROL: Final = 10

SYNC_STEP1: Final = 0
SYNC_STEP2: Final = 1
SYNC_UPDATE: Final = 2

# WebSocket close codes the rooms use.
CLOSE_GOING_AWAY: Final = 1001  # server shutting down
CLOSE_SERVICE_RESTART: Final = 1012  # this instance stops: reconnect (to another one)
CLOSE_PROTOCOL_ERROR: Final = 1002  # a message that is not y-websocket
CLOSE_TRY_AGAIN_LATER: Final = 1013  # the client reads too slowly to keep up
CLOSE_REMOVED: Final = 4403  # access revoked
CLOSE_DELETED: Final = 4404  # session deleted

# A Y update that changes nothing (no structs, empty delete set).
EMPTY_UPDATE: Final = b"\x00\x00"

# lib0 numbers are JavaScript-safe integers; anything longer is not a Yjs message.
_MAX_VARUINT_BYTES = 8


class ProtocolError(ValueError):
    """A message that does not follow the protocol."""


class Reader:
    """Reads lib0-encoded values from a buffer, raising ProtocolError past its end."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def done(self) -> bool:
        return self._pos >= len(self._data)

    def var_uint(self) -> int:
        value, shift = 0, 0
        for _ in range(_MAX_VARUINT_BYTES):
            if self._pos >= len(self._data):
                raise ProtocolError("truncated integer")
            byte = self._data[self._pos]
            self._pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
        raise ProtocolError("integer too long")

    def var_bytes(self) -> bytes:
        length = self.var_uint()
        end = self._pos + length
        if end > len(self._data):
            raise ProtocolError("truncated byte array")
        chunk = self._data[self._pos : end]
        self._pos = end
        return chunk

    def var_string(self) -> str:
        try:
            return self.var_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError("string is not UTF-8") from exc

    def rest(self) -> bytes:
        chunk = self._data[self._pos :]
        self._pos = len(self._data)
        return chunk


def var_uint(value: int) -> bytes:
    if value < 0:
        raise ValueError("varuints are unsigned")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def var_bytes(data: bytes) -> bytes:
    return var_uint(len(data)) + data


def var_string(text: str) -> bytes:
    return var_bytes(text.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class SyncStep1:
    state: bytes  # the sender's state vector


@dataclass(frozen=True, slots=True)
class SyncStep2:
    update: bytes  # what the receiver of step 1 was missing


@dataclass(frozen=True, slots=True)
class SyncUpdate:
    update: bytes


@dataclass(frozen=True, slots=True)
class AwarenessUpdate:
    payload: bytes


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


@dataclass(frozen=True, slots=True)
class Control:
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Other:
    """A message type this side does not handle (auth, future types)."""

    type: int


Message = SyncStep1 | SyncStep2 | SyncUpdate | AwarenessUpdate | QueryAwareness | Control | Other

_SYNC_TYPES: dict[int, type[SyncStep1 | SyncStep2 | SyncUpdate]] = {
    SYNC_STEP1: SyncStep1,
    SYNC_STEP2: SyncStep2,
    SYNC_UPDATE: SyncUpdate,
}


def decode_message(data: bytes) -> Message:
    """Parse one WebSocket message; ProtocolError when it is malformed."""
    reader = Reader(data)
    kind = reader.var_uint()
    if kind == MESSAGE_SYNC:
        step = reader.var_uint()
        sync_type = _SYNC_TYPES.get(step)
        if sync_type is None:
            raise ProtocolError(f"unknown sync step {step}")
        return sync_type(reader.var_bytes())
    if kind == MESSAGE_AWARENESS:
        return AwarenessUpdate(reader.var_bytes())
    if kind == MESSAGE_QUERY_AWARENESS:
        return QueryAwareness()
    if kind == MESSAGE_CONTROL:
        return Control(_decode_json_object(reader.var_string()))
    return Other(kind)


def decode_json(text: str, what: str) -> Any:
    """JSON from a peer; ProtocolError when it is not JSON or nests too deep to parse."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"{what} is not JSON") from exc
    except RecursionError as exc:  # json recurses once per level of nesting
        raise ProtocolError(f"{what} nests too deep") from exc


def _decode_json_object(text: str) -> dict[str, Any]:
    payload = decode_json(text, "control payload")
    if not isinstance(payload, dict):
        raise ProtocolError("control payload is not a JSON object")
    return payload


def encode_sync_step1(state: bytes) -> bytes:
    return bytes((MESSAGE_SYNC, SYNC_STEP1)) + var_bytes(state)


def encode_sync_step2(update: bytes) -> bytes:
    return bytes((MESSAGE_SYNC, SYNC_STEP2)) + var_bytes(update)


def encode_update(update: bytes) -> bytes:
    return bytes((MESSAGE_SYNC, SYNC_UPDATE)) + var_bytes(update)


def encode_awareness(payload: bytes) -> bytes:
    return bytes((MESSAGE_AWARENESS,)) + var_bytes(payload)


def encode_control(payload: Mapping[str, Any]) -> bytes:
    text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
    return var_uint(MESSAGE_CONTROL) + var_string(text)


_UPDATE_HEADER = bytes((MESSAGE_SYNC, SYNC_UPDATE))


def coalesce_updates(messages: list[bytes]) -> list[bytes]:
    """The messages in order, each run of consecutive update messages merged into one (the
    server's own encodings: a merged Y update has the same effect as its parts)."""
    out: list[bytes] = []
    run: list[bytes] = []
    for message in [*messages, b""]:  # the empty sentinel ends the last run
        if message.startswith(_UPDATE_HEADER):
            run.append(message)
            continue
        if run:
            out.append(run[0] if len(run) == 1 else _merged(run))
            run = []
        if message:
            out.append(message)
    return out


def _merged(messages: list[bytes]) -> bytes:
    updates = [Reader(message[len(_UPDATE_HEADER) :]).var_bytes() for message in messages]
    return encode_update(merge_updates(*updates))
