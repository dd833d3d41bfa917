"""An account service on a real SQLite store of the test's own, with cheap password hashing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from jupyter_codecrafter.accounts.passwords import Passwords
from jupyter_codecrafter.accounts.service import AccountService
from jupyter_codecrafter.accounts.tokens import AccessTokens
from jupyter_codecrafter.activity import ActivityLog
from jupyter_codecrafter.store.base import Store
from jupyter_codecrafter.store.sqlite import SQLiteStore

SECRET = "a-test-secret-long-enough-for-every-hmac-algorithm-0123456789abcdef"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """An open SQLite store on a file in the test's folder."""
    store = SQLiteStore(f"sqlite:///{tmp_path / 'codecrafter.db'}")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def access_tokens() -> AccessTokens:
    return AccessTokens(SECRET, ttl_s=900, leeway_s=5)


@pytest.fixture
def accounts(store: Store, access_tokens: AccessTokens) -> AccountService:
    """The account service as the server builds it, with fast argon2 parameters."""
    passwords = Passwords(time_cost=1, memory_kib=8192, parallelism=1)
    return AccountService(
        store, passwords, access_tokens, ActivityLog(store), max_preferences_bytes=1024
    )
