"""One client's outgoing messages: in order, never waited for, merged when they pile up."""

from __future__ import annotations

import asyncio

from pycrdt import Doc, Text, read_message

from jupyter_codecrafter.rooms.channel import ClientChannel
from jupyter_codecrafter.rooms.protocol import encode_control, encode_update
from jupyter_codecrafter.store.records import SessionRole
from tests.rooms.harness import MemoryConnection, identity


class GatedConnection(MemoryConnection):
    """A socket whose writes wait until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.writing = asyncio.Event()

    async def send(self, message: bytes) -> None:
        self.writing.set()
        await self.gate.wait()
        await super().send(message)


def keystrokes(count: int) -> list[bytes]:
    doc: Doc = Doc()
    text = doc.get("source", type=Text)
    updates = []
    for index in range(count):
        state = doc.get_state()
        text.insert(index, str(index))
        updates.append(doc.get_update(state))
    return updates


async def test_updates_that_pile_up_go_out_as_one_message() -> None:
    """Keystrokes queued behind a slow write reach the client as one merged update, still
    in order with the other messages, and the client ends with the same text."""
    conn = GatedConnection()
    channel = ClientChannel(conn, identity("ann"), SessionRole.WRITE, on_lost=lambda c: None)
    updates = keystrokes(5)
    channel.enqueue(encode_update(updates[0]))
    await conn.writing.wait()  # the first write is in flight; the rest queue behind it
    for update in updates[1:4]:
        channel.enqueue(encode_update(update))
    channel.enqueue(encode_control({"type": "role", "role": "read"}))
    channel.enqueue(encode_update(updates[4]))
    conn.gate.set()

    received = [await conn.to_client.get() for _ in range(4)]
    assert all(isinstance(m, bytes) for m in received)
    assert [m[:1] for m in received] == [b"\x00", b"\x00", b"\x0a", b"\x00"]
    doc: Doc = Doc()
    text = doc.get("source", type=Text)
    for message in received:
        if message[:2] == b"\x00\x02":
            doc.apply_update(read_message(message[2:]))
    assert str(text) == "01234"
    channel.abandon()
