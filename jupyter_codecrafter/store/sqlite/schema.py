"""The SQLite schema and its migrations.

``MIGRATIONS[n]`` takes a database from version ``n`` to ``n + 1``; :func:`migrate` applies
the missing ones inside the caller's ``BEGIN IMMEDIATE`` transaction, so two processes
opening a new file at once don't both create it. Append a migration, never edit one.

Datetimes are ISO 8601 text in UTC with microseconds (fixed width, so text order is time
order); dicts and lists are JSON text; booleans are 0/1. ``username_lc``/``email_lc`` hold
the lower-case forms that uniqueness and log-in compare.
"""

from __future__ import annotations

import sqlite3

from ...errors import StoreError

_V1 = (
    """CREATE TABLE users (
        id TEXT PRIMARY KEY,
        username TEXT NOT NULL,
        username_lc TEXT NOT NULL UNIQUE,
        email TEXT NOT NULL,
        email_lc TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        role TEXT NOT NULL,
        display_name TEXT NOT NULL,
        preferences TEXT NOT NULL,
        last_login_at TEXT
    )""",
    """CREATE TABLE refresh_tokens (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        family_id TEXT NOT NULL,
        token_hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        used_at TEXT,
        revoked_at TEXT
    )""",
    "CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id)",
    "CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id)",
    "CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at)",
    """CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        kind TEXT NOT NULL,
        language TEXT NOT NULL,
        owner_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        is_public INTEGER NOT NULL,
        metadata TEXT NOT NULL
    )""",
    "CREATE INDEX sessions_newest ON sessions (created_at DESC, id DESC)",
    "CREATE INDEX sessions_owner ON sessions (owner_id, created_at DESC, id DESC)",
    "CREATE INDEX sessions_public ON sessions (is_public, created_at DESC, id DESC)",
    """CREATE TABLE collaborators (
        session_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        role TEXT NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (session_id, user_id)
    ) WITHOUT ROWID""",
    "CREATE INDEX collaborators_user ON collaborators (user_id)",
    """CREATE TABLE invites (
        code TEXT PRIMARY KEY,
        session_id TEXT NOT NULL,
        role TEXT NOT NULL,
        created_by TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT,
        max_uses INTEGER,
        uses INTEGER NOT NULL,
        revoked_at TEXT
    )""",
    "CREATE INDEX invites_session ON invites (session_id, created_at DESC)",
    """CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        user_id TEXT NOT NULL,
        language TEXT NOT NULL,
        code TEXT NOT NULL,
        queued_at TEXT NOT NULL,
        limits TEXT NOT NULL,
        session_id TEXT,
        cell_id TEXT,
        stdin TEXT NOT NULL,
        status TEXT NOT NULL,
        outputs TEXT NOT NULL,
        execution_count INTEGER,
        error TEXT,
        worker TEXT,
        attempts INTEGER NOT NULL,
        started_at TEXT,
        finished_at TEXT
    )""",
    "CREATE INDEX jobs_newest ON jobs (queued_at DESC, id DESC)",
    "CREATE INDEX jobs_session ON jobs (session_id, queued_at DESC, id DESC)",
    "CREATE INDEX jobs_user ON jobs (user_id, queued_at DESC, id DESC)",
    # One row per document: the sequence counter and the latest snapshot.
    """CREATE TABLE document_heads (
        session_id TEXT PRIMARY KEY,
        last_seq INTEGER NOT NULL,
        snapshot BLOB,
        snapshot_seq INTEGER NOT NULL
    )""",
    """CREATE TABLE document_updates (
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID""",
    """CREATE TABLE activity (
        id TEXT PRIMARY KEY,
        level TEXT NOT NULL,
        message TEXT NOT NULL,
        timestamp TEXT NOT NULL,
        user_id TEXT,
        session_id TEXT,
        metadata TEXT NOT NULL
    )""",
    "CREATE INDEX activity_newest ON activity (timestamp DESC, id DESC)",
    "CREATE INDEX activity_user ON activity (user_id, timestamp DESC)",
    "CREATE INDEX activity_session ON activity (session_id, timestamp DESC)",
)

# An append is one INSERT that numbers itself from the head; the head follows by trigger.
# One statement takes the write lock before it reads, like BEGIN IMMEDIATE, so appends of
# several processes still get distinct, increasing numbers, in one call instead of four.
_V2 = (
    """CREATE TRIGGER document_updates_head AFTER INSERT ON document_updates
    BEGIN
        INSERT INTO document_heads (session_id, last_seq, snapshot_seq)
        VALUES (NEW.session_id, NEW.seq, 0)
        ON CONFLICT (session_id) DO UPDATE SET last_seq = MAX(last_seq, excluded.last_seq);
    END""",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The version the database is at (0 for a new file)."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    return int(conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to :data:`SCHEMA_VERSION` (inside the caller's transaction)."""
    version = schema_version(conn)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"The database is at schema version {version}; this code knows up to "
            f"{SCHEMA_VERSION}. Upgrade jupyter-codecrafter."
        )
    for target in range(version + 1, SCHEMA_VERSION + 1):
        for statement in MIGRATIONS[target - 1]:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (target,))
