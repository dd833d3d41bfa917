"""InviteRepository: invite links that are claimed atomically."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_codecrafter.errors import DuplicateError
from jupyter_codecrafter.store import Store
from jupyter_codecrafter.store.records import SessionRole

from . import factories as f
from .conftest import OpenStore


async def uses(store: Store, code: str) -> int:
    invite = await store.invites.get(code)
    assert invite is not None
    return invite.uses


async def test_invite_reads_back_unchanged(store: Store) -> None:
    """An invite reads back exactly as created; an unknown code finds nothing."""
    invite = f.invite("s1", role=SessionRole.WRITE, expires_at=f.at(60), max_uses=30)
    await store.invites.create(invite)
    stored = await store.invites.get(invite.code)
    assert stored == invite
    assert stored is not None
    assert isinstance(stored.role, SessionRole)
    assert await store.invites.get("unknown") is None


async def test_same_code_twice_is_duplicate(store: Store) -> None:
    """A second invite with an existing code is refused and the first is kept."""
    first = f.invite("s1")
    await store.invites.create(first)
    with pytest.raises(DuplicateError) as caught:
        await store.invites.create(f.invite("s2", code=first.code))
    assert caught.value.field == "code"
    assert await store.invites.get(first.code) == first


async def test_claims_count_up_to_max_uses(store: Store) -> None:
    """Each claim uses the invite once until max_uses is reached, then claims fail."""
    invite = f.invite("s1", max_uses=2)
    await store.invites.create(invite)
    first = await store.invites.claim(invite.code, f.at(1))
    second = await store.invites.claim(invite.code, f.at(1))
    assert (first and first.uses, second and second.uses) == (1, 2)
    assert await store.invites.claim(invite.code, f.at(1)) is None
    assert await uses(store, invite.code) == 2


async def test_unlimited_invite_keeps_working(store: Store) -> None:
    """An invite without max_uses can be claimed any number of times."""
    invite = f.invite("s1")
    await store.invites.create(invite)
    for expected_uses in range(1, 6):
        claimed = await store.invites.claim(invite.code, f.at(1))
        assert claimed is not None
        assert claimed.uses == expected_uses


@pytest.mark.parametrize(
    "fields",
    [{"revoked_at": f.at(0)}, {"expires_at": f.at(1)}, {"expires_at": f.at(0.5)}],
    ids=["revoked", "expires-at-now", "expired"],
)
async def test_revoked_or_expired_invite_cannot_be_claimed(
    store: Store, fields: dict[str, object]
) -> None:
    """A revoked invite, or one whose expiry is not after now, gives nothing."""
    invite = f.invite("s1", **fields)
    await store.invites.create(invite)
    assert await store.invites.claim(invite.code, f.at(1)) is None
    assert await store.invites.get(invite.code) == invite


async def test_claim_before_expiry_succeeds(store: Store) -> None:
    """An invite that expires later can be claimed now."""
    invite = f.invite("s1", expires_at=f.at(2), max_uses=1)
    await store.invites.create(invite)
    assert await store.invites.claim(invite.code, f.at(1)) is not None
    assert await store.invites.claim("unknown", f.at(1)) is None


@pytest.mark.parametrize("instances", [1, 2])
async def test_concurrent_claims_of_single_use_invite_have_one_winner(
    open_store: OpenStore, instances: int
) -> None:
    """Ten students clicking a single-use link at once (one or two servers): one gets in."""
    stores = [await open_store() for _ in range(instances)]
    invite = f.invite("s1", max_uses=1)
    await stores[0].invites.create(invite)
    results = await asyncio.gather(
        *(stores[i % instances].invites.claim(invite.code, f.at(1)) for i in range(10))
    )
    assert len([r for r in results if r is not None]) == 1
    assert await uses(stores[-1], invite.code) == 1


async def test_revoke_reports_only_the_first_time(store: Store) -> None:
    """Revoking an invite answers True once, keeps that time, and stops claims."""
    invite = f.invite("s1")
    await store.invites.create(invite)
    assert await store.invites.revoke(invite.code, f.at(1)) is True
    assert await store.invites.revoke(invite.code, f.at(2)) is False
    assert await store.invites.revoke("unknown", f.at(2)) is False
    stored = await store.invites.get(invite.code)
    assert stored is not None
    assert stored.revoked_at == f.at(1)
    assert await store.invites.claim(invite.code, f.at(3)) is None


async def test_list_gives_a_sessions_invites_newest_first(store: Store) -> None:
    """A session's invites are listed newest first, without other sessions' invites."""
    old, new = f.invite("s1", created_at=f.at(1)), f.invite("s1", created_at=f.at(2))
    for invite in (old, new, f.invite("s2")):
        await store.invites.create(invite)
    assert await store.invites.list("s1") == [new, old]
    assert await store.invites.list("none") == []
