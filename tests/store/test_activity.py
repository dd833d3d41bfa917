"""ActivityRepository: the activity log, newest first, purged by age."""

from __future__ import annotations

from jupyter_codecrafter.store import Store

from . import factories as f


async def test_entries_list_newest_first_and_filter(store: Store) -> None:
    """Entries read back as written, newest first, by user and by session."""
    old = f.entry(user_id="u1", session_id="s1", timestamp=f.at(1), metadata={"job": "j1"})
    new = f.entry(user_id="u1", level="error", timestamp=f.at(2), metadata={"n": [1, {"a": 2}]})
    other = f.entry(user_id="u2", session_id="s1", timestamp=f.at(3))
    for entry in (old, new, other):
        await store.activity.add(entry)
    assert await store.activity.list() == [other, new, old]
    assert await store.activity.list(user_id="u1") == [new, old]
    assert await store.activity.list(session_id="s1") == [other, old]
    assert await store.activity.list(user_id="u1", session_id="s1") == [old]
    assert await store.activity.list(limit=2) == [other, new]
    assert await store.activity.list(limit=0) == []


async def test_purge_deletes_only_older_entries(store: Store) -> None:
    """Purging removes entries older than the cut-off, says how many, keeps the rest."""
    entries = [f.entry(timestamp=f.at(t)) for t in (1, 2, 3, 4)]
    for entry in entries:
        await store.activity.add(entry)
    assert await store.activity.purge(f.at(3)) == 2
    assert await store.activity.list() == [entries[3], entries[2]]
    assert await store.activity.purge(f.at(3)) == 0
