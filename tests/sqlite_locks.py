"""Another connection to a SQLite file holding its write lock, as another process would."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def write_lock_held(database: Path) -> Iterator[sqlite3.Connection]:
    """Every other connection's writes wait meanwhile (readers go on). The lock goes when
    the caller commits, or at the end, where whatever it wrote is rolled back."""
    conn = sqlite3.connect(database, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()
