"""The SQLite store (embedded default)."""

from .store import SQLiteStore

__all__ = ["SQLiteStore"]
