"""The ``store`` fixture: every contract test runs against SQLiteStore and MongoStore.

SQLite runs on a file in the test's temporary folder. MongoDB runs against ``mongo_url``
(tests/conftest.py): a real server when ``CODECRAFTER_TEST_MONGODB_URL`` is set, otherwise
the nx-27017 stand-in, which speaks the wire protocol over SQLite. The stand-in may not
model transactions (the stores use none), change streams (unused), TTL expiry timing (only
the TTL index's existence is tested), or every error a real server raises (for one,
``find_one_and_update`` that hits a unique index returns None instead of raising, so the
MongoDB store avoids it there).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from jupyter_codecrafter.store import Store, create_store
from jupyter_codecrafter.store.mongo import MongoStore

OpenStore = Callable[[], Awaitable[Store]]


@pytest.fixture(params=["sqlite", "mongo"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database of this test's own, for each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'codecrafter.db'}"
    return str(request.getfixturevalue("mongo_url"))


@pytest.fixture
async def open_store(store_url: str) -> AsyncIterator[OpenStore]:
    """Opens stores on the test's database (several act like several processes); all are
    closed afterwards, and a MongoDB database is dropped."""
    stores: list[Store] = []

    async def open_one() -> Store:
        store = create_store(store_url)
        await store.open()
        stores.append(store)
        return store

    yield open_one
    if stores and isinstance(stores[0], MongoStore):
        await stores[0].db.client.drop_database(stores[0].db.name)
    for store in stores:
        await store.close()


@pytest.fixture
async def store(open_store: OpenStore) -> Store:
    """An open store on an empty database."""
    return await open_store()
