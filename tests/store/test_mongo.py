"""What only the MongoDB store has: database naming, indexes, unreachable servers.

Runs on nx-27017 unless CODECRAFTER_TEST_MONGODB_URL names a real server; the stand-in
reports index options (unique, expireAfterSeconds) as MongoDB does, so they are checked.
TTL expiry timing is MongoDB's own and is not tested.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from jupyter_codecrafter.errors import StoreError
from jupyter_codecrafter.store.mongo import MongoStore
from jupyter_codecrafter.store.mongo.indexes import ACTIVITY_TTL_S
from tests.services import free_port


@pytest.fixture
async def mongo_store(mongo_url: str) -> AsyncIterator[MongoStore]:
    store = MongoStore(mongo_url)
    await store.open()
    yield store
    await store.db.client.drop_database(store.db.name)
    await store.close()


async def indexes(store: MongoStore, collection: str) -> dict[tuple[str, ...], dict[str, Any]]:
    """The indexes of ``collection`` by their key names."""
    cursor = await store.db[collection].list_indexes()
    return {tuple(index["key"]): dict(index) async for index in cursor}


def test_database_comes_from_the_url_or_defaults() -> None:
    """The URL's database is used, and "codecrafter" when the URL names none."""
    assert MongoStore("mongodb://127.0.0.1:1/classroom").db.name == "classroom"
    assert MongoStore("mongodb://127.0.0.1:1/").db.name == "codecrafter"
    assert MongoStore("mongodb://127.0.0.1:1").db.name == "codecrafter"


def test_malformed_url_is_a_store_error() -> None:
    """A URL pymongo cannot parse is reported as a store error."""
    with pytest.raises(StoreError):
        MongoStore("mongodb://host:notaport/db")


async def test_unreachable_server_is_a_store_error() -> None:
    """Opening or pinging a server nobody runs fails with a store error, quickly."""
    store = MongoStore(f"mongodb://127.0.0.1:{free_port()}/x?serverSelectionTimeoutMS=200")
    try:
        with pytest.raises(StoreError):
            await store.open()
        with pytest.raises(StoreError):
            await store.ping()
        with pytest.raises(StoreError):
            await store.users.get("x")
    finally:
        await store.close()


async def test_unique_indexes_exist(mongo_store: MongoStore) -> None:
    """Usernames, emails, token hashes, collaborators and update numbers are unique."""
    expected: dict[str, list[tuple[str, ...]]] = {
        "users": [("username_lc",), ("email_lc",)],
        "refresh_tokens": [("token_hash",)],
        "collaborators": [("session_id", "user_id")],
        "document_updates": [("session_id", "seq")],
    }
    for collection, keys in expected.items():
        found = await indexes(mongo_store, collection)
        for key in keys:
            assert found[key].get("unique") is True, (collection, key)


async def test_activity_has_a_thirty_day_ttl_index(mongo_store: MongoStore) -> None:
    """MongoDB is told to expire activity entries 30 days after their timestamp."""
    found = await indexes(mongo_store, "activity")
    assert found[("timestamp",)]["expireAfterSeconds"] == ACTIVITY_TTL_S == 30 * 24 * 3600


async def test_listing_indexes_exist(mongo_store: MongoStore) -> None:
    """The lists the API serves have indexes for their filters."""
    assert ("owner_id", "created_at") in await indexes(mongo_store, "sessions")
    assert ("is_public", "created_at") in await indexes(mongo_store, "sessions")
    assert ("session_id", "queued_at") in await indexes(mongo_store, "jobs")
    assert ("user_id", "queued_at") in await indexes(mongo_store, "jobs")
    assert ("user_id",) in await indexes(mongo_store, "collaborators")
