"""Small helpers every layer uses: clock and identifiers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current UTC time, truncated to milliseconds so every store round-trips it exactly."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id() -> str:
    """A new random identifier (32 lowercase hex characters)."""
    return uuid.uuid4().hex
