"""Persistence: the store interface, its records, and the SQLite and MongoDB stores."""

from .base import PageCursor, Store, create_store

__all__ = ["PageCursor", "Store", "create_store"]
