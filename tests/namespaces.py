"""Unique prefixes for the names tests create on shared services, remembered so that the
test session deletes the broker's durable queues and exchanges of each when it ends (the
queues of single workers and server instances expire by themselves)."""

from __future__ import annotations

import uuid

_used: set[str] = set()


def new_namespace(prefix: str = "t") -> str:
    namespace = f"{prefix}{uuid.uuid4().hex[:10]}."
    _used.add(namespace)
    return namespace


def used() -> frozenset[str]:
    return frozenset(_used)
