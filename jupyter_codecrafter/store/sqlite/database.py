"""One SQLite connection per store, shared by its repositories.

Single statements run on the event loop; what may take longer goes to the store's one
thread. A statement here takes tens of microseconds, and handing it to a thread costs more
than that even on an idle server. On a busy one it costs milliseconds: the thread must win
the GIL from the loop, which gives it up only every switch interval (5 ms). So the
connection's busy timeout is 0, and a statement that meets another process's lock
(``SQLITE_BUSY``) is handed to the thread, which waits up to ``BUSY_TIMEOUT_MS`` for it.
Transactions run on the thread too (loading a room or compacting it can take tens of
milliseconds), and so do the checkpoints that copy the WAL into the file, which wait for
the disk.

While the thread has work, later statements queue behind it rather than run on the loop,
so the connection serves one thread at a time even after a caller stopped waiting. An
asyncio lock keeps a multi-statement transaction from being interleaved with another
coroutine's statements. Across processes SQLite's own locking applies: WAL lets readers
run beside one writer, and every write is a single statement or a short ``BEGIN
IMMEDIATE`` transaction.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

from ...errors import DuplicateError, StoreError
from ...utils import private_file
from .schema import migrate

log = logging.getLogger("jupyter_codecrafter.store")

MEMORY = ":memory:"
BUSY_TIMEOUT_MS = 10_000
CHECKPOINT_EVERY_ROWS = 256  # rows changed: about as often as SQLite would (1000 pages)
THREAD_NAME = "codecrafter-sqlite"

Params = Mapping[str, Any] | tuple[Any, ...]
T = TypeVar("T")
Work = Callable[[sqlite3.Connection], T]


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
    """The connection, its thread and lock, and the translation of sqlite3 errors."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._lock = asyncio.Lock()
        self._queued = 0  # work handed to the thread and not done yet
        self._checkpointed = 0  # total_changes at the last checkpoint
        self._checkpoint: asyncio.Task[None] | None = None

    async def open(self) -> None:
        if self._conn is not None:
            return
        if self.path != MEMORY:
            _make_private(self.path)
        thread = ThreadPoolExecutor(1, thread_name_prefix=THREAD_NAME)
        try:
            with _translated():
                self._conn = await asyncio.wrap_future(thread.submit(_connect, self.path))
        except BaseException:
            thread.shutdown(wait=False)
            raise
        self._thread = thread

    async def close(self) -> None:
        if self._checkpoint is not None:
            await asyncio.gather(self._checkpoint, return_exceptions=True)
        async with self._lock:  # statements and transactions under way end first
            conn, thread, self._conn = self._conn, self._thread, None
            if conn is None or thread is None:
                return
            await self._in_thread(conn, lambda c: c.close())
        thread.shutdown()

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError("The SQLite store is not open.")
        return self._conn

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return await self.run(lambda c: c.execute(sql, params).fetchall())

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        async with self._lock:
            return await self.run(lambda c: c.execute(sql, params).rowcount)

    @asynccontextmanager
    async def transaction(
        self, mode: Literal["IMMEDIATE", "DEFERRED"] = "IMMEDIATE"
    ) -> AsyncIterator[Transaction]:
        """A transaction, on the store's thread: IMMEDIATE takes the write lock at once,
        DEFERRED only reads."""
        async with self._lock:
            await self.patiently(lambda c: c.execute(f"BEGIN {mode}"))
            try:
                yield Transaction(self)
                await self.patiently(lambda c: c.execute("COMMIT"))
            except BaseException:
                await self.patiently(_rolled_back)
                raise

    async def run(self, work: Work[T]) -> T:
        """``work`` done on the connection: on the loop unless it must wait (the caller
        holds the lock)."""
        conn = self.conn
        if not self._queued:
            with _translated():
                try:
                    return self._checked(conn, work(conn))
                except sqlite3.OperationalError as exc:
                    if not _busy(exc):
                        raise
        return await self.patiently(work)

    async def patiently(self, work: Work[T]) -> T:
        """``work`` done on the store's thread, waiting for other processes' locks (the
        caller holds the lock). For transactions: they are the statements that can take
        milliseconds (loading a room, compacting it), which the loop must not wait for."""
        conn = self.conn
        with _translated():
            return self._checked(conn, await self._in_thread(conn, _patiently(work)))

    async def _in_thread(self, conn: sqlite3.Connection, work: Work[T]) -> T:
        assert self._thread is not None
        loop = asyncio.get_running_loop()
        self._queued += 1
        done: Future[T] = self._thread.submit(work, conn)
        done.add_done_callback(lambda _: loop.call_soon_threadsafe(self._dequeued))
        return await asyncio.wrap_future(done)

    def _dequeued(self) -> None:
        self._queued -= 1

    def _checked(self, conn: sqlite3.Connection, result: T) -> T:
        """``result``, once a checkpoint is scheduled if enough was written since the last."""
        changes = conn.total_changes
        if changes - self._checkpointed >= CHECKPOINT_EVERY_ROWS and self._checkpoint is None:
            self._checkpointed = changes
            self._checkpoint = asyncio.create_task(self._checkpoint_wal())
        return result

    async def _checkpoint_wal(self) -> None:
        try:
            async with self._lock:
                if self._conn is not None:  # else closed meanwhile, which checkpoints
                    await self._in_thread(self._conn, _checkpoint)
        except Exception:  # the next one tries again; the WAL only grows meanwhile
            log.warning("could not checkpoint the SQLite WAL", exc_info=True)
        finally:
            self._checkpoint = None


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        _patiently(_configure)(conn)  # another process may be opening the file too
    except BaseException:
        conn.close()
        raise
    return conn


def _configure(conn: sqlite3.Connection) -> None:
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")  # the thread checkpoints, not a commit
    # Unicode-aware lower() for case-insensitive search (SQLite's folds ASCII only).
    conn.create_function("py_lower", 1, _lower, deterministic=True)
    conn.execute("BEGIN IMMEDIATE")
    migrate(conn)
    conn.execute("COMMIT")


def _checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _busy(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused because another connection holds a lock it needs."""
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF == sqlite3.SQLITE_BUSY


def _rolled_back(conn: sqlite3.Connection) -> None:
    """Never leave the shared connection inside a transaction."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _patiently(work: Work[T]) -> Work[T]:
    """``work`` that waits for other processes' locks (for the thread only)."""

    def patient(conn: sqlite3.Connection) -> T:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        try:
            return work(conn)
        finally:
            conn.execute("PRAGMA busy_timeout = 0")

    return patient


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

    def __init__(self, db: Database) -> None:
        self._db = db

    async def fetch_one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def fetch_all(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return await self._db.patiently(lambda c: c.execute(sql, params).fetchall())

    async def execute(self, sql: str, params: Params = ()) -> int:
        return await self._db.patiently(lambda c: c.execute(sql, params).rowcount)


def _make_private(path: str) -> None:
    """The database readable by this user only; SQLite gives its -wal and -shm files the
    database file's mode, and older ones are tightened too."""
    private_file(Path(path))
    for suffix in ("-wal", "-shm"):
        if Path(path + suffix).exists():
            private_file(Path(path + suffix))
