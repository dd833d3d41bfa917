"""Small helpers every layer uses: clock, identifiers, private files."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path


def utcnow() -> datetime:
    """The current UTC time, truncated to milliseconds so every store round-trips it exactly."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def new_id() -> str:
    """A new random identifier (32 lowercase hex characters)."""
    return uuid.uuid4().hex


def private_dir(path: Path) -> Path:
    """``path`` as a directory only this user can enter (0700), created if missing."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def private_file(path: Path) -> Path:
    """``path`` as a file only this user can read (0600), created empty if missing, in a
    private directory. It keeps secrets from other accounts, not from code running as this
    user: that is what the sandboxes are for."""
    private_dir(path.parent)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o600)
    return path
