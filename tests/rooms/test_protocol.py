"""The wire format matches what Yjs (via pycrdt) writes and reads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pycrdt import (
    Decoder,
    Doc,
    Text,
    create_sync_message,
    create_update_message,
    handle_sync_message,
)

from jupyter_codecrafter.rooms.awareness import (
    MAX_IDS_PER_OWNER,
    AwarenessRegistry,
    decode_awareness,
)
from jupyter_codecrafter.rooms.identity import Identity
from jupyter_codecrafter.rooms.protocol import (
    Control,
    ProtocolError,
    SyncStep1,
    SyncStep2,
    SyncUpdate,
    decode_message,
    encode_control,
    encode_sync_step1,
    encode_sync_step2,
    encode_update,
)
from jupyter_codecrafter.rooms.yupdates import has_news, is_noop


def text_doc(value: str) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    doc["t"] = Text(value)
    return doc


def test_sync_messages_match_pycrdt() -> None:
    """Our sync messages are byte for byte those of pycrdt, and decode back."""
    doc = text_doc("hello")
    assert encode_sync_step1(doc.get_state()) == create_sync_message(doc)
    assert encode_update(doc.get_update()) == create_update_message(doc.get_update())
    reply = handle_sync_message(encode_sync_step1(Doc().get_state())[1:], doc)
    assert reply == encode_sync_step2(doc.get_update(Doc().get_state()))
    assert decode_message(create_sync_message(doc)) == SyncStep1(doc.get_state())
    assert isinstance(decode_message(reply or b""), SyncStep2)
    assert isinstance(decode_message(create_update_message(b"\x00\x00")), SyncUpdate)


def test_control_message_is_a_varstring_of_json() -> None:
    """Type 10, then the JSON's UTF-8 byte length and bytes (non-ASCII included)."""
    payload = {"type": "read_only", "message": "lecture seule — ✓"}
    message = encode_control(payload)
    assert message[0] == 10
    assert json.loads(Decoder(message[1:]).read_var_string()) == payload
    assert decode_message(message) == Control(payload)


@pytest.mark.parametrize(
    "message",
    [b"", b"\x00", b"\x00\x07\x00", b"\x00\x02\x05ab", b"\x01\xff", b"\x0a\x03abc", b"\x0a\x01["],
)
def test_malformed_messages_are_rejected(message: bytes) -> None:
    """Truncated, unknown-step or non-JSON messages raise ProtocolError, nothing else."""
    with pytest.raises(ProtocolError):
        decode_message(message)


def test_noop_detection() -> None:
    """An update is a no-op only when its structs and deletions are all known already."""
    server = text_doc("abcdef")
    client: Doc[Any] = Doc()
    client.apply_update(server.get_update())
    text = client.get("t", type=Text)
    del text[0:2]
    assert not is_noop(client.get_update(server.get_state()), server)  # a deletion
    server.apply_update(client.get_update())
    assert is_noop(client.get_update(server.get_state()), server)  # same deletions, nothing new
    assert is_noop(b"\x00\x00", server)
    text.insert(0, "z")
    assert not is_noop(client.get_update(server.get_state()), server)  # a new struct
    assert not is_noop(b"\x05garbage", server)


def test_has_news_compares_clocks_and_deletions() -> None:
    """A peer is behind when it lacks structs or deletions; not when it is ahead."""
    mine = text_doc("abc")
    theirs: Doc[Any] = Doc()
    assert has_news(mine, theirs.get_state(), theirs.get_update(theirs.get_state()))
    theirs.apply_update(mine.get_update())
    assert not has_news(mine, theirs.get_state(), theirs.get_update(theirs.get_state()))
    text = mine.get("t", type=Text)
    del text[0:1]
    assert has_news(mine, theirs.get_state(), theirs.get_update(theirs.get_state()))
    assert not has_news(theirs, mine.get_state(), mine.get_update(mine.get_state()))


def test_awareness_ids_per_connection_are_bounded() -> None:
    """One connection cannot fill the room with made-up client ids."""
    registry = AwarenessRegistry()
    who = Identity("u1", "ann", "Ann")
    for client_id in range(MAX_IDS_PER_OWNER + 3):
        registry.apply_from_client("conn", who, _entry(client_id, 1, {"x": client_id}))
    assert len(registry.states()) == MAX_IDS_PER_OWNER
    removed = registry.remove_owner("conn")
    assert removed is not None
    assert registry.states() == {}
    assert all(e.state is None for e in decode_awareness(removed))


def test_awareness_states_must_be_objects() -> None:
    """A state that is not a JSON object cannot carry the server's identity: dropped."""
    registry = AwarenessRegistry()
    who = Identity("u1", "ann", "Ann")
    assert registry.apply_from_client("conn", who, _entry(1, 1, "text")) is None
    assert registry.apply_from_client("conn", who, _entry(1, 2, {"a": 1})) is not None
    assert registry.states()[1]["user"]["id"] == "u1"


def _entry(client_id: int, clock: int, state: Any) -> bytes:
    text = json.dumps(state).encode()
    return bytes([1, client_id, clock, len(text)]) + text


def test_echoes_never_claim_a_client_id() -> None:
    """Stock clients echo what they receive; a departed client reconnecting gets its id back."""
    registry = AwarenessRegistry()
    ann, bob = Identity("u1", "ann", "Ann"), Identity("u2", "bob", "Bob")
    assert registry.apply_from_client("ann-1", ann, _entry(1, 1, {"c": 1})) is not None
    registry.remove_owner("ann-1")
    assert registry.apply_from_client("bob", bob, _entry(1, 1, None)) is None
    assert registry.apply_from_client("bob", bob, _entry(1, 1, {"c": 1})) is None
    assert registry.apply_from_client("ann-2", ann, _entry(1, 2, {"c": 2})) is not None
    assert registry.states()[1]["user"]["id"] == "u1"


def test_a_remote_client_id_is_taken_over_only_after_it_left() -> None:
    """A client moving to this instance keeps its id once its old instance reported it gone."""
    registry = AwarenessRegistry()
    ann = Identity("u1", "ann", "Ann")
    assert registry.apply_remote("i1", _entry(5, 1, {"c": 1})) is not None
    assert registry.apply_from_client("here", ann, _entry(5, 2, {"c": 2})) is None
    assert registry.apply_remote("i1", _entry(5, 1, None)) is not None
    assert registry.apply_from_client("here", ann, _entry(5, 2, {"c": 2})) is not None
    assert registry.states()[5]["c"] == 2
