"""The MongoDB store (scaled deployments)."""

from .store import MongoStore

__all__ = ["MongoStore"]
