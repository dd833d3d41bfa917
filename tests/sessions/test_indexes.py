"""The session queries have indexes in both stores: owner + created, collaborator user,
invite code (unique), public + created."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from jupyter_codecrafter.errors import DuplicateError
from jupyter_codecrafter.store.base import Store
from jupyter_codecrafter.store.mongo import MongoStore
from tests.sessions.conftest import open_store
from tests.store import factories

# query -> the index SQLite must use for it
SQLITE_PLANS = {
    "SELECT * FROM sessions WHERE owner_id = 'u' ORDER BY created_at DESC, id DESC LIMIT 20": (
        "sessions_owner"
    ),
    "SELECT * FROM sessions WHERE is_public = 1 ORDER BY created_at DESC, id DESC LIMIT 20": (
        "sessions_public"
    ),
    "SELECT session_id FROM collaborators WHERE user_id = 'u'": "collaborators_user",
    "SELECT * FROM invites WHERE code = 'c'": "sqlite_autoindex_invites_1",
}


@pytest.mark.parametrize(("query", "index"), list(SQLITE_PLANS.items()))
async def test_sqlite_answers_session_queries_from_indexes(
    tmp_path: Path, query: str, index: str
) -> None:
    """SQLite's plan for each list query uses its index, with no sort of the whole table."""
    store = await open_store(f"sqlite:///{tmp_path / 'plans.db'}")
    await store.close()
    with sqlite3.connect(tmp_path / "plans.db") as conn:
        plan = " | ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {query}"))
    assert f"INDEX {index}" in plan, plan
    assert "TEMP B-TREE" not in plan, plan


async def mongo_indexes(store: MongoStore, collection: str) -> dict[tuple[str, ...], Any]:
    cursor = await store.db[collection].list_indexes()
    return {tuple(index["key"]): dict(index) async for index in cursor}


def has_index(indexes: dict[tuple[str, ...], Any], *prefix: str) -> bool:
    """An index leads with these fields (the stand-in reports only the first two keys)."""
    return any(key[: len(prefix)] == prefix for key in indexes)


async def test_mongo_has_the_session_indexes(mongo_url: str) -> None:
    """MongoDB has the same indexes; invites are keyed (uniquely) by their code."""
    store = await open_store(mongo_url)
    assert isinstance(store, MongoStore)
    try:
        sessions = await mongo_indexes(store, "sessions")
        assert has_index(sessions, "owner_id", "created_at")
        assert has_index(sessions, "is_public", "created_at")
        assert has_index(await mongo_indexes(store, "collaborators"), "user_id")
        assert has_index(await mongo_indexes(store, "invites"), "_id")
        await duplicate_code_is_refused(store)
    finally:
        await store.db.client.drop_database(store.db.name)
        await store.close()


async def test_sqlite_refuses_a_duplicate_invite_code(tmp_path: Path) -> None:
    """Two invites can never share a code."""
    store = await open_store(f"sqlite:///{tmp_path / 'codes.db'}")
    try:
        await duplicate_code_is_refused(store)
    finally:
        await store.close()


async def duplicate_code_is_refused(store: Store) -> None:
    await store.invites.create(factories.invite("s1", code="same-code"))
    with pytest.raises(DuplicateError):
        await store.invites.create(factories.invite("s2", code="same-code"))
