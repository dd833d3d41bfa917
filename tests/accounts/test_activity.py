"""The activity log keeps 30 days; housekeeping purges old entries and expired tokens."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from jupyter_codecrafter.activity import ActivityLog, Housekeeping
from jupyter_codecrafter.store.base import Store
from jupyter_codecrafter.store.records import ActivityEntry, RefreshToken
from jupyter_codecrafter.utils import new_id, utcnow


def entry(age: timedelta) -> ActivityEntry:
    return ActivityEntry(id=new_id(), level="info", message="old", timestamp=utcnow() - age)


def token(expires_in: timedelta) -> RefreshToken:
    now = utcnow()
    return RefreshToken(
        id=new_id(),
        user_id="u",
        family_id="f",
        token_hash=new_id(),
        created_at=now,
        expires_at=now + expires_in,
    )


async def test_record_keeps_the_documented_fields(store: Store) -> None:
    """An entry holds level, message, user, session, metadata and a timestamp; None
    metadata values are left out."""
    await ActivityLog(store).record(
        "role changed", level="warning", user_id="u1", session_id="s1", by="x", ip=None
    )
    [saved] = await store.activity.list()
    assert (saved.level, saved.message, saved.user_id, saved.session_id) == (
        "warning",
        "role changed",
        "u1",
        "s1",
    )
    assert saved.metadata == {"by": "x"}
    assert (utcnow() - saved.timestamp) < timedelta(minutes=1)


async def test_purge_drops_entries_older_than_30_days(store: Store) -> None:
    """Entries 31 days old go; entries 29 days old stay."""
    await store.activity.add(entry(timedelta(days=31)))
    kept = entry(timedelta(days=29))
    await store.activity.add(kept)
    assert await ActivityLog(store).purge() == 1
    assert [e.id for e in await store.activity.list()] == [kept.id]


async def test_housekeeping_purges_activity_and_expired_refresh_tokens(store: Store) -> None:
    """One housekeeping round deletes old activity and expired refresh tokens only."""
    activity = ActivityLog(store)
    await store.activity.add(entry(timedelta(days=40)))
    expired, valid = token(timedelta(seconds=-1)), token(timedelta(days=1))
    await store.tokens.add(expired)
    await store.tokens.add(valid)
    housekeeping = Housekeeping(store, activity, interval_s=3600)
    assert await housekeeping.run_once() == (1, 1)
    assert await store.tokens.get_by_hash(expired.token_hash) is None
    assert await store.tokens.get_by_hash(valid.token_hash) is not None


async def test_housekeeping_runs_in_the_background_until_stopped(store: Store) -> None:
    """Started, housekeeping purges on its own; stopped, its task is gone."""
    await store.activity.add(entry(timedelta(days=40)))
    housekeeping = Housekeeping(store, ActivityLog(store), interval_s=0.05)
    housekeeping.start()
    try:
        async with asyncio.timeout(10):
            while await store.activity.list():
                await asyncio.sleep(0.02)
    finally:
        await housekeeping.stop()
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "codecrafter-housekeeping"]
