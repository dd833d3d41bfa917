"""Opaque cursors for "newest first" lists (sessions, jobs).

A cursor is the base64url of ``<timestamp ISO 8601>|<id>`` of the last item of a page; the
next page holds what is strictly older. Clients must not build or parse them.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from .errors import ValidationFailed
from .store.base import PageCursor

T = TypeVar("T")


def encode_cursor(when: datetime, item_id: str) -> str:
    """The cursor after an item created (or queued) at ``when``."""
    raw = f"{when.isoformat()}|{item_id}".encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str) -> PageCursor:
    """The (created_at, id) a cursor stands for; ValidationFailed when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, _, session_id = raw.decode("utf-8").partition("|")
        created_at = datetime.fromisoformat(created)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise _invalid() from exc
    if created_at.tzinfo is None or not session_id:
        raise _invalid()
    return created_at, session_id


def _invalid() -> ValidationFailed:
    return ValidationFailed(
        "Invalid cursor.",
        details=[{"field": "cursor", "message": "Use the next_cursor of a previous page."}],
    )


def split_page(
    rows: Sequence[T], limit: int, position: Callable[[T], PageCursor]
) -> tuple[list[T], str | None]:
    """From up to ``limit + 1`` rows read newest first: the page, and the cursor after its
    last row (None when the extra row is missing: this is the last page)."""
    page = list(rows[:limit])
    if len(rows) <= limit or not page:
        return page, None
    return page, encode_cursor(*position(page[-1]))
