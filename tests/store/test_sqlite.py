"""What only the SQLite store has: its URL forms, WAL mode, and the schema version."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jupyter_codecrafter.errors import StoreError
from jupyter_codecrafter.store.sqlite import SQLiteStore
from jupyter_codecrafter.store.sqlite.schema import SCHEMA_VERSION
from tests.sqlite_locks import write_lock_held

from . import factories as f


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///srv/cc/db.sqlite", "/srv/cc/db.sqlite"),
        ("sqlite:////srv/cc/db.sqlite", "/srv/cc/db.sqlite"),
        ("sqlite://relative/db.sqlite", "relative/db.sqlite"),
        ("sqlite://:memory:", ":memory:"),
        ("sqlite:///:memory:", ":memory:"),
        ("sqlite://", ":memory:"),
    ],
)
def test_url_names_the_database_file(url: str, path: str) -> None:
    """Both sqlite:///abs and sqlite:////abs name an absolute file; :memory: is memory."""
    assert SQLiteStore(url).path == path


async def test_open_creates_missing_folders(tmp_path: Path) -> None:
    """Opening a store in a folder that does not exist yet creates the folder and file."""
    path = tmp_path / "a" / "b" / "codecrafter.db"
    store = SQLiteStore(f"sqlite://{path}")
    await store.open()
    try:
        assert path.is_file()
    finally:
        await store.close()


async def test_memory_store_works_and_is_private() -> None:
    """An in-memory store holds data for its own lifetime and shares it with no one."""
    first, second = SQLiteStore("sqlite://:memory:"), SQLiteStore("sqlite://:memory:")
    await first.open()
    await second.open()
    try:
        user = f.user()
        await first.users.create(user)
        assert await first.users.get(user.id) == user
        assert await second.users.get(user.id) is None
    finally:
        await first.close()
        await second.close()


async def test_file_is_in_wal_mode_with_a_schema_version(tmp_path: Path) -> None:
    """The file is left in WAL mode (readers never block the writer) at the current
    schema version, and opening it again does not add versions."""
    path = tmp_path / "cc.db"
    for _ in range(2):
        store = SQLiteStore(f"sqlite://{path}")
        await store.open()
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        versions = conn.execute("SELECT version FROM schema_version").fetchall()
    assert versions == [(version,) for version in range(1, SCHEMA_VERSION + 1)]


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A file written by a newer release is not opened (rather than misread)."""
    path = tmp_path / "cc.db"
    store = SQLiteStore(f"sqlite://{path}")
    await store.open()
    await store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    newer = SQLiteStore(f"sqlite://{path}")
    with pytest.raises(StoreError, match="schema version"):
        await newer.open()


async def test_unusable_file_is_a_store_error(tmp_path: Path) -> None:
    """A path that is not a database gives a store error, not a driver error."""
    path = tmp_path / "not-a-db"
    path.write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StoreError):
        await SQLiteStore(f"sqlite://{path}").open()


async def test_closed_store_refuses_work(tmp_path: Path) -> None:
    """A repository used after close raises a store error."""
    store = SQLiteStore(f"sqlite://{tmp_path / 'cc.db'}")
    await store.open()
    await store.close()
    with pytest.raises(StoreError, match="not open"):
        await store.users.get("x")


class Ticker:
    """Counts the turns of the event loop every 10 ms: a loop that stalls stops counting."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.create_task(self._tick())

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.01)
            self.ticks += 1

    async def ticks_during(self, seconds: float) -> int:
        before = self.ticks
        await asyncio.sleep(seconds)
        return self.ticks - before

    def stop(self) -> None:
        self._task.cancel()


@pytest.fixture
async def locked_out(tmp_path: Path) -> AsyncIterator[tuple[SQLiteStore, sqlite3.Connection]]:
    """An open file store whose write lock another connection holds."""
    path = tmp_path / "cc.db"
    store = SQLiteStore(f"sqlite://{path}")
    await store.open()
    try:
        with write_lock_held(path) as other:
            yield store, other
    finally:
        await store.close()


@pytest.fixture
async def ticker() -> AsyncIterator[Ticker]:
    ticking = Ticker()
    yield ticking
    ticking.stop()


async def test_a_write_waits_for_another_process_without_stalling_the_server(
    locked_out: tuple[SQLiteStore, sqlite3.Connection], ticker: Ticker
) -> None:
    """A write that meets another process's lock waits for it and then lands, while the
    event loop goes on serving."""
    (store, other), user = locked_out, f.user()
    write = asyncio.create_task(store.users.create(user))
    assert await ticker.ticks_during(0.3) >= 10
    assert not write.done()
    other.execute("COMMIT")
    await asyncio.wait_for(write, 5)
    assert await store.users.get(user.id) == user


async def test_work_after_an_abandoned_wait_queues_behind_it(
    locked_out: tuple[SQLiteStore, sqlite3.Connection], ticker: Ticker
) -> None:
    """When a caller stops waiting for a write held up by another process, the next
    statements wait behind that write (which still lands) without stalling the loop."""
    (store, other), user = locked_out, f.user()
    write = asyncio.create_task(store.users.create(user))
    await asyncio.sleep(0.1)
    write.cancel()
    read = asyncio.create_task(store.users.get(user.id))
    assert await ticker.ticks_during(0.3) >= 10
    assert not read.done()
    other.execute("COMMIT")
    assert await asyncio.wait_for(read, 5) == user


def wal_size(path: Path) -> int:
    return Path(f"{path}-wal").stat().st_size


async def test_the_write_ahead_log_is_checkpointed_as_it_grows(tmp_path: Path) -> None:
    """Many small writes do not grow the WAL file without end: it is copied into the
    database and reused every few hundred rows (here each append writes about 22 KB)."""
    path = tmp_path / "cc.db"
    store = SQLiteStore(f"sqlite://{path}")
    await store.open()
    try:
        for _ in range(2000):
            await store.documents.append("s1", b"x" * 2000)
            await asyncio.sleep(0)  # as a server turns to its other work
        wal_bytes = wal_size(path)
    finally:
        await store.close()
    assert wal_bytes < 8_000_000, wal_bytes  # 44 MB without checkpoints
