"""RefreshTokenRepository: rotation, reuse detection and revocation."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_codecrafter.errors import DuplicateError
from jupyter_codecrafter.store import Store
from jupyter_codecrafter.store.records import RefreshToken

from . import factories as f
from .conftest import OpenStore


async def _stored(store: Store, token: RefreshToken) -> RefreshToken:
    stored = await store.tokens.get_by_hash(token.token_hash)
    assert stored is not None
    return stored


async def test_token_reads_back_by_hash(store: Store) -> None:
    """A stored token is found by its hash, unchanged; an unknown hash finds nothing."""
    token = f.token("u1")
    await store.tokens.add(token)
    assert await store.tokens.get_by_hash(token.token_hash) == token
    assert await store.tokens.get_by_hash("unknown") is None


async def test_same_hash_twice_is_duplicate(store: Store) -> None:
    """A second token with an existing hash is refused and not written."""
    first = f.token("u1")
    await store.tokens.add(first)
    twin = f.token("u2", token_hash=first.token_hash)
    with pytest.raises(DuplicateError) as caught:
        await store.tokens.add(twin)
    assert caught.value.field == "token_hash"
    assert await store.tokens.get_by_hash(first.token_hash) == first


async def test_mark_used_succeeds_only_once(store: Store) -> None:
    """A token can be used once; the second use is reported as reuse (False)."""
    token = f.token("u1")
    await store.tokens.add(token)
    assert await store.tokens.mark_used(token.id, f.at(1)) is True
    assert await store.tokens.mark_used(token.id, f.at(2)) is False
    stored = await store.tokens.get_by_hash(token.token_hash)
    assert stored is not None
    assert stored.used_at == f.at(1)


async def test_mark_used_refuses_revoked_and_unknown_tokens(store: Store) -> None:
    """A revoked or unknown token cannot be used."""
    token = f.token("u1", revoked_at=f.at(1))
    await store.tokens.add(token)
    assert await store.tokens.mark_used(token.id, f.at(2)) is False
    assert await store.tokens.mark_used("unknown", f.at(2)) is False


@pytest.mark.parametrize("instances", [1, 2])
async def test_concurrent_uses_of_one_token_have_one_winner(
    open_store: OpenStore, instances: int
) -> None:
    """Ten simultaneous refreshes with one token (from one or two processes): one wins."""
    stores = [await open_store() for _ in range(instances)]
    token = f.token("u1")
    await stores[0].tokens.add(token)
    results = await asyncio.gather(
        *(stores[i % instances].tokens.mark_used(token.id, f.at(i)) for i in range(10))
    )
    assert results.count(True) == 1


async def test_revoke_reports_only_the_first_time(store: Store) -> None:
    """Revoking answers True once; revoking again keeps the first revocation time."""
    token = f.token("u1")
    await store.tokens.add(token)
    assert await store.tokens.revoke(token.id, f.at(1)) is True
    assert await store.tokens.revoke(token.id, f.at(2)) is False
    assert await store.tokens.revoke("unknown", f.at(2)) is False
    stored = await store.tokens.get_by_hash(token.token_hash)
    assert stored is not None
    assert stored.revoked_at == f.at(1)


async def test_revoke_family_counts_only_live_tokens_of_that_family(store: Store) -> None:
    """Revoking a family revokes its unrevoked tokens, counts them, and spares others."""
    family = [f.token("u1", family_id="fam") for _ in range(3)]
    family[0].revoked_at = f.at(-1)
    other = f.token("u1", family_id="other")
    for token in [*family, other]:
        await store.tokens.add(token)
    assert await store.tokens.revoke_family("fam", f.at(1)) == 2
    assert await store.tokens.revoke_family("fam", f.at(2)) == 0
    assert (await _stored(store, other)).revoked_at is None
    assert (await _stored(store, family[0])).revoked_at == f.at(-1)


async def test_revoke_user_can_keep_one_family(store: Store) -> None:
    """Logging out everywhere else revokes all the user's tokens but the kept family."""
    kept = f.token("u1", family_id="keep")
    others = [f.token("u1"), f.token("u1")]
    stranger = f.token("u2")
    for token in [kept, *others, stranger]:
        await store.tokens.add(token)
    assert await store.tokens.revoke_user("u1", f.at(1), except_family="keep") == 2
    assert (await _stored(store, kept)).revoked_at is None
    assert (await _stored(store, stranger)).revoked_at is None
    assert await store.tokens.revoke_user("u1", f.at(2)) == 1


async def test_purge_expired_deletes_only_expired_tokens(store: Store) -> None:
    """Purging removes tokens that expired before now and keeps the rest."""
    expired = f.token("u1", expires_at=f.at(-1))
    expiring_now = f.token("u1", expires_at=f.at(0))
    live = f.token("u1", expires_at=f.at(60))
    for token in (expired, expiring_now, live):
        await store.tokens.add(token)
    assert await store.tokens.purge_expired(f.at(0)) == 1
    assert await store.tokens.get_by_hash(expired.token_hash) is None
    assert await store.tokens.get_by_hash(expiring_now.token_hash) == expiring_now
    assert await store.tokens.get_by_hash(live.token_hash) == live
