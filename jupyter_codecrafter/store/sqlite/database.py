"""One aiosqlite connection per store, shared by its repositories.

All statements of a process go through one connection (aiosqlite runs them on one thread
anyway), guarded by an asyncio lock so a multi-statement transaction is never interleaved
with another coroutine's statements. Across processes SQLite's own locking applies: WAL
lets readers run beside one writer, a busy timeout makes writers wait for each other, and
every write is a single statement or a short ``BEGIN IMMEDIATE`` transaction.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from ...errors import DuplicateError, StoreError
from ...utils import private_file
from .schema import migrate

MEMORY = ":memory:"
BUSY_TIMEOUT_MS = 10_000

Params = Mapping[str, Any] | tuple[Any, ...]


def parse_url(url: str) -> str:
    """The database path of ``sqlite:///abs/path.db`` (``sqlite:////abs`` also works) or
    ``sqlite://relative.db``; ``:memory:`` for ``sqlite://:memory:`` or ``sqlite://``."""
    if not url.startswith("sqlite://"):
        raise ValueError(f"Not a SQLite URL: {url!r}")
    path = url.removeprefix("sqlite://").split("?", 1)[0]
    if path.lstrip("/") in ("", MEMORY):
        return MEMORY
    if path.startswith("/"):
        path = "/" + path.lstrip("/")
    return str(Path(path).expanduser())


def _lower(value: str | None) -> str | None:
    return None if value is None else value.lower()


class Database:
    """The connection, its lock, and the translation of sqlite3 errors."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def open(self) -> None:
        if self._conn is not None:
            return
        if self.path != MEMORY:
            _make_private(self.path)
        with _translated():
            conn = await aiosqlite.connect(self.path, isolation_level=None)
            try:
                await self._configure(conn)
            except BaseException:
                await conn.close()
                raise
        self._conn = conn

    async def _configure(self, conn: aiosqlite.Connection) -> None:
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        # Unicode-aware lower() for case-insensitive search (SQLite's folds ASCII only).
        await conn.create_function("py_lower", 1, _lower, deterministic=True)
        async with _transaction(conn, "IMMEDIATE"):
            await migrate(conn)

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            async with self._lock:
                await conn.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise StoreError("The SQLite store is not open.")
        return self._conn

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._lock:
            with _translated():
                return list(await self.conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        async with self._lock:
            with _translated():
                cursor = await self.conn.execute(sql, params)
                return int(cursor.rowcount)

    @asynccontextmanager
    async def transaction(
        self, mode: Literal["IMMEDIATE", "DEFERRED"] = "IMMEDIATE"
    ) -> AsyncIterator[Transaction]:
        """A transaction: IMMEDIATE takes the write lock at once, DEFERRED only reads."""
        async with self._lock:
            with _translated():
                async with _transaction(self.conn, mode):
                    yield Transaction(self.conn)


@asynccontextmanager
async def _transaction(
    conn: aiosqlite.Connection, mode: Literal["IMMEDIATE", "DEFERRED"]
) -> AsyncIterator[None]:
    await conn.execute(f"BEGIN {mode}")
    try:
        yield
        await conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # never leave the shared connection inside a transaction
            await conn.execute("ROLLBACK")
        raise


@contextmanager
def _translated() -> Iterator[None]:
    """sqlite3 errors as the store's: a unique column taken is a DuplicateError naming it."""
    try:
        yield
    except sqlite3.IntegrityError as exc:
        column = _unique_column(str(exc))
        if column is None:
            raise StoreError("SQLite rejected the write.") from exc
        raise DuplicateError(column.removesuffix("_lc")) from exc
    except sqlite3.Error as exc:
        raise StoreError(f"SQLite failed: {exc}") from exc


def _unique_column(message: str) -> str | None:
    """The first column of "UNIQUE constraint failed: table.column[, table.column]"."""
    match = re.search(r"UNIQUE constraint failed: \w+\.(\w+)", message)
    return match.group(1) if match else None


class Transaction:
    """The statements available inside :meth:`Database.transaction`."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._conn.execute(sql, params)
        return int(cursor.rowcount)


def _make_private(path: str) -> None:
    """The database readable by this user only; SQLite gives its -wal and -shm files the
    database file's mode, and older ones are tightened too."""
    private_file(Path(path))
    for suffix in ("-wal", "-shm"):
        if Path(path + suffix).exists():
            private_file(Path(path + suffix))
