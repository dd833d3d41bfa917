"""Jupyter messages between a session's kernel channel (on any server instance) and the
worker that owns the session's kernel, carried on the bus.

Two channels per session: ``kernel-in`` (servers -> the owning worker; only that worker
subscribes) and ``kernel-out`` (the worker -> every server instance with a client of the
session). Each bus message is an :class:`Envelope`: routing fields, then one Jupyter message.

Routing of what comes out of the kernel:

- ``to_conn``: a reply to one client's request goes to that client only;
- ``to_user``: an ``input_request`` goes only to the clients of the user who ran the cell;
- ``to_job``: the reply of a run that a client queued through its channel goes to it;
- none of these: broadcast (IOPub: outputs, status, comm messages) to every client.

``job`` names the run a message belongs to, so the server that queued it for a client can
give that client the parent header it sent.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass, field, fields
from typing import Any

from jupyter_client.jsonutil import json_default

from ..constants import KERNEL_IN_CHANNEL_PREFIX, KERNEL_OUT_CHANNEL_PREFIX
from ..errors import MalformedMessage

CHANNELS = ("shell", "control", "stdin", "iopub")
_LENGTH = struct.Struct("!I")


@dataclass(slots=True)
class KernelMessage:
    """One Jupyter message and the channel it travels on (headers as JSON, dates as text)."""

    channel: str
    header: dict[str, Any]
    parent_header: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    content: dict[str, Any] = field(default_factory=dict)
    buffers: list[bytes] = field(default_factory=list)

    @property
    def msg_type(self) -> str:
        return str(self.header.get("msg_type", ""))

    @property
    def msg_id(self) -> str:
        return str(self.header.get("msg_id", ""))

    @property
    def parent_id(self) -> str:
        return str(self.parent_header.get("msg_id", ""))

    def parts(self) -> list[bytes]:
        """Header, parent header, metadata and content as JSON, then the buffers."""
        dicts = (self.header, self.parent_header, self.metadata, self.content)
        return [_dumps(part) for part in dicts] + list(self.buffers)

    @classmethod
    def from_parts(cls, channel: str, parts: list[bytes]) -> KernelMessage:
        """Raise MalformedMessage unless the parts are four JSON objects and buffers."""
        if channel not in CHANNELS or len(parts) < 4:
            raise MalformedMessage("Not a Jupyter message.")
        try:
            header, parent, metadata, content = (json.loads(part) for part in parts[:4])
        except ValueError as exc:
            raise MalformedMessage("Not a Jupyter message.") from exc
        return cls.from_dict(channel, _message(header, parent, metadata, content), parts[4:])

    @classmethod
    def from_dict(
        cls, channel: str, msg: dict[str, Any], buffers: list[bytes] | None = None
    ) -> KernelMessage:
        """From a message as jupyter_client or the legacy JSON protocol shape it."""
        fields = [msg.get(name) or {} for name in ("header", "parent_header", "metadata")]
        content = msg.get("content") or {}
        if not all(isinstance(part, dict) for part in [*fields, content]):
            raise MalformedMessage("Not a Jupyter message.")
        if not isinstance(fields[0].get("msg_type"), str):
            raise MalformedMessage("A Jupyter message needs header.msg_type.")
        raw = buffers if buffers is not None else msg.get("buffers") or []
        header, parent, metadata = (_jsonable(part) for part in fields)
        return cls(channel, header, parent, metadata, content, [bytes(b) for b in raw])

    def to_dict(self) -> dict[str, Any]:
        """As jupyter_client's Session sends it (and the legacy protocol, with channel)."""
        return {
            "header": self.header,
            "parent_header": self.parent_header,
            "metadata": self.metadata,
            "content": self.content,
            "buffers": self.buffers,
            "msg_id": self.msg_id,
            "msg_type": self.msg_type,
        }


@dataclass(slots=True)
class Envelope:
    """A kernel message and where it goes (see the module docstring)."""

    message: KernelMessage
    conn: str | None = None  # in: the client that sent it
    user: str | None = None  # in: the user that sent it
    to_conn: str | None = None
    to_user: str | None = None
    to_job: str | None = None
    job: str | None = None

    def encode(self) -> bytes:
        # Not asdict(): it deep-copies the message, which made encoding twice as dear.
        routing = {k: v for k in _ROUTING if (v := getattr(self, k)) is not None}
        routing["channel"] = self.message.channel
        chunks = [_dumps(routing), *self.message.parts()]
        return b"".join(_LENGTH.pack(len(chunk)) + chunk for chunk in chunks)

    @classmethod
    def decode(cls, data: bytes) -> Envelope:
        chunks = _split(data)
        try:
            routing = json.loads(chunks[0])
            channel = routing.pop("channel")
            return cls(KernelMessage.from_parts(channel, chunks[1:]), **routing)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise MalformedMessage("Malformed kernel envelope.") from exc


_ROUTING = tuple(f.name for f in fields(Envelope) if f.name != "message")


def kernel_in_channel(session_id: str) -> str:
    return KERNEL_IN_CHANNEL_PREFIX + session_id


def kernel_out_channel(session_id: str) -> str:
    return KERNEL_OUT_CHANNEL_PREFIX + session_id


def _split(data: bytes) -> list[bytes]:
    chunks, offset = [], 0
    while offset < len(data):
        if offset + _LENGTH.size > len(data):
            raise MalformedMessage("Malformed kernel envelope.")
        (size,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        chunks.append(data[offset : offset + size])
        offset += size
    if offset != len(data) or not chunks:
        raise MalformedMessage("Malformed kernel envelope.")
    return chunks


def _message(header: Any, parent: Any, metadata: Any, content: Any) -> dict[str, Any]:
    return {"header": header, "parent_header": parent, "metadata": metadata, "content": content}


def _jsonable(part: dict[str, Any]) -> dict[str, Any]:
    """Dates (jupyter_client parses them) back to ISO text, so the part is plain JSON."""
    return {k: json_default(v) if hasattr(v, "isoformat") else v for k, v in part.items()}


def _dumps(part: Any) -> bytes:
    return json.dumps(part, default=json_default, ensure_ascii=False).encode()
