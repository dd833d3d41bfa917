"""What a Y update or state vector contains, without applying it.

A state vector says how many structs of each client a document has integrated; it does
not cover deletions, which add no structs. So "does A have something B lacks" compares
both the state vectors and the delete sets. The delete set of a document is read from
the update that document encodes against its own state vector: no structs, only deletes.
"""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, get_update

from .protocol import ProtocolError, Reader

# client id -> sorted, merged [start, end) clock ranges
DeleteSet = dict[int, list[tuple[int, int]]]


def decode_state_vector(state: bytes) -> dict[int, int]:
    """client id -> clock (number of structs integrated)."""
    reader = Reader(state)
    return {reader.var_uint(): reader.var_uint() for _ in range(reader.var_uint())}


def decode_delete_set(update: bytes) -> DeleteSet | None:
    """The delete set of a v1 update that carries no structs; None when it has structs."""
    reader = Reader(update)
    if reader.var_uint() != 0:
        return None
    ranges: DeleteSet = {}
    for _ in range(reader.var_uint()):
        client = reader.var_uint()
        spans = ranges.setdefault(client, [])
        for _ in range(reader.var_uint()):
            clock = reader.var_uint()
            spans.append((clock, clock + reader.var_uint()))
    return {client: _merged(spans) for client, spans in ranges.items()}


def _merged(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def delete_set_update(doc: Doc[Any]) -> bytes:
    """An update holding only ``doc``'s delete set."""
    return doc.get_update(doc.get_state())


def covers(outer: DeleteSet, inner: DeleteSet) -> bool:
    """Whether every deleted range of ``inner`` is deleted in ``outer`` too."""
    for client, spans in inner.items():
        have = outer.get(client, [])
        for start, end in spans:
            if not any(lo <= start and end <= hi for lo, hi in have):
                return False
    return True


def ahead(mine: dict[int, int], theirs: dict[int, int]) -> bool:
    """Whether a document with state ``mine`` has structs one with ``theirs`` lacks."""
    return any(clock > theirs.get(client, 0) for client, clock in mine.items())


def is_noop(update: bytes, doc: Doc[Any]) -> bool:
    """Whether applying ``update`` to ``doc`` would change nothing.

    A client answering our sync step 1 sends its whole delete set even when it has nothing
    new; that is normal Yjs behaviour, not an edit. A malformed update is not a no-op.
    """
    return is_noop_for(update, doc.get_state(), delete_set_update(doc))


def is_noop_for(update: bytes, state: bytes, deletes: bytes) -> bool:
    """:func:`is_noop` for a document known by its state vector and delete set update."""
    try:
        missing = get_update(update, state)
        ranges = decode_delete_set(missing)
        ours = decode_delete_set(deletes) or {}
    except (ValueError, ProtocolError):
        return False
    return ranges is not None and covers(ours, ranges)


def has_news(doc: Doc[Any], their_state: bytes, their_deletes: bytes) -> bool:
    """Whether ``doc`` has structs or deletions a peer with this state lacks."""
    return has_news_for(doc.get_state(), delete_set_update(doc), their_state, their_deletes)


def has_news_for(state: bytes, deletes: bytes, their_state: bytes, their_deletes: bytes) -> bool:
    """:func:`has_news` for a document known by its state vector and delete set update."""
    try:
        theirs = decode_state_vector(their_state)
        their_ranges = decode_delete_set(their_deletes) or {}
    except ProtocolError:
        return False
    ours = decode_delete_set(deletes) or {}
    return ahead(decode_state_vector(state), theirs) or not covers(their_ranges, ours)


def unintegrated(update: bytes, doc: Doc[Any]) -> bool:
    """Whether part of ``update``, already applied to ``doc``, still waits there for an
    update it depends on (Yjs keeps such structs and deletions pending)."""
    state = doc.get_state()
    ranges = decode_delete_set(get_update(update, state))
    if ranges is None:
        return True  # structs the document could not integrate
    if not ranges:
        return False  # most updates delete nothing: no need to decode the state vector
    clocks = decode_state_vector(state)
    return any(end > clocks.get(client, 0) for client, spans in ranges.items() for _, end in spans)
