"""DocumentRepository: Y updates appended in order, compacted into snapshots."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_codecrafter.store import Store
from jupyter_codecrafter.store.records import DocumentState

from .conftest import OpenStore


async def test_unknown_document_loads_empty(store: Store) -> None:
    """A document never written loads as empty: no snapshot, no updates, seq 0."""
    assert await store.documents.load("new") == DocumentState(None, [], 0)


async def test_appends_number_from_one_and_load_in_order(store: Store) -> None:
    """Updates get 1, 2, 3... per document and load back byte for byte, in order."""
    updates = [b"\x00\x01first", b"\xff" * 300, b"", b"third\x00"]
    seqs = [await store.documents.append("doc", update) for update in updates]
    assert seqs == [1, 2, 3, 4]
    assert await store.documents.append("other", b"x") == 1
    assert await store.documents.load("doc") == DocumentState(None, updates, 4)


async def test_compact_keeps_updates_after_the_snapshot(store: Store) -> None:
    """Compacting drops the updates the snapshot covers and keeps the later ones."""
    for update in (b"u1", b"u2", b"u3"):
        await store.documents.append("doc", update)
    await store.documents.compact("doc", b"snap-1-2", upto_seq=2)
    assert await store.documents.append("doc", b"u4") == 4
    assert await store.documents.load("doc") == DocumentState(b"snap-1-2", [b"u3", b"u4"], 4)


async def test_numbers_continue_after_full_compaction(store: Store) -> None:
    """After compacting everything, new updates still get new, higher numbers."""
    for update in (b"u1", b"u2"):
        await store.documents.append("doc", update)
    await store.documents.compact("doc", b"snap", upto_seq=2)
    assert await store.documents.load("doc") == DocumentState(b"snap", [], 2)
    assert await store.documents.append("doc", b"u3") == 3
    assert await store.documents.load("doc") == DocumentState(b"snap", [b"u3"], 3)


async def test_compacting_a_new_document_numbers_later_updates_after_it(store: Store) -> None:
    """A snapshot saved before any update is followed by updates numbered after it."""
    await store.documents.compact("doc", b"initial", upto_seq=5)
    assert await store.documents.append("doc", b"next") == 6
    assert await store.documents.load("doc") == DocumentState(b"initial", [b"next"], 6)


async def test_older_snapshot_never_replaces_newer(store: Store) -> None:
    """A late compaction with an older snapshot keeps the newer snapshot."""
    for update in (b"u1", b"u2", b"u3", b"u4"):
        await store.documents.append("doc", update)
    await store.documents.compact("doc", b"snap-4", upto_seq=4)
    await store.documents.compact("doc", b"snap-2", upto_seq=2)
    assert await store.documents.load("doc") == DocumentState(b"snap-4", [], 4)


async def test_delete_forgets_the_document(store: Store) -> None:
    """Deleting a document drops snapshot and updates; numbering starts over."""
    await store.documents.append("doc", b"u1")
    await store.documents.compact("doc", b"snap", upto_seq=1)
    await store.documents.append("doc", b"u2")
    await store.documents.append("keep", b"k")
    await store.documents.delete("doc")
    assert await store.documents.load("doc") == DocumentState(None, [], 0)
    assert await store.documents.append("doc", b"again") == 1
    assert await store.documents.load("keep") == DocumentState(None, [b"k"], 1)


@pytest.mark.parametrize("instances", [1, 2])
async def test_concurrent_appends_get_distinct_increasing_numbers(
    open_store: OpenStore, instances: int
) -> None:
    """Simultaneous appends (from one or two processes) get numbers 1..N, none lost."""
    stores = [await open_store() for _ in range(instances)]
    updates = [f"update-{i}".encode() for i in range(20)]
    seqs = await asyncio.gather(
        *(stores[i % instances].documents.append("doc", u) for i, u in enumerate(updates))
    )
    assert sorted(seqs) == list(range(1, 21))
    state = await stores[0].documents.load("doc")
    assert state.last_seq == 20
    by_seq = dict(zip(seqs, updates, strict=True))
    assert state.updates == [by_seq[seq] for seq in range(1, 21)]


def contents(state: DocumentState) -> list[bytes]:
    """What a document holds when its snapshot is the updates it covers, one per line."""
    covered = state.snapshot.split(b"\n") if state.snapshot else []
    return covered + state.updates


async def test_updates_appended_during_compactions_are_never_lost(open_store: OpenStore) -> None:
    """While one server keeps compacting, updates another server appends all survive,
    each exactly once."""
    appender, compactor = await open_store(), await open_store()
    updates = [f"u{i}".encode() for i in range(40)]
    appending = asyncio.gather(*(appender.documents.append("doc", u) for u in updates))
    while not appending.done():
        state = await compactor.documents.load("doc")
        await compactor.documents.compact("doc", b"\n".join(contents(state)), state.last_seq)
        await asyncio.sleep(0)  # let the appends progress between compactions
    await appending
    assert sorted(contents(await compactor.documents.load("doc"))) == sorted(updates)
