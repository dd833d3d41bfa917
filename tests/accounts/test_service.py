"""The account service on a real SQLite store: sign-up, sign-in, rotation, revocation."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_codecrafter.accounts.service import AccountService
from jupyter_codecrafter.accounts.tokens import hash_refresh_token
from jupyter_codecrafter.errors import (
    DuplicateError,
    InvalidCredentials,
    InvalidToken,
    TokenReused,
)
from jupyter_codecrafter.store.base import Store
from jupyter_codecrafter.store.records import UserRole

PASSWORD = "correct horse"


async def messages(store: Store, user_id: str | None = None) -> list[str]:
    return [entry.message for entry in await store.activity.list(user_id=user_id)]


async def test_register_normalises_and_signs_in(accounts: AccountService) -> None:
    """Registering lower-cases username and email, makes a plain user, and returns tokens."""
    user, tokens = await accounts.register("Ada_L", " Ada@Example.ORG ", PASSWORD)
    assert (user.username, user.email, user.role) == ("ada_l", "ada@example.org", UserRole.USER)
    assert user.display_name == "Ada_L"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert (await accounts.authenticate(tokens.access_token)).id == user.id


async def test_duplicates_are_refused_naming_the_field(accounts: AccountService) -> None:
    """A taken username or email (any case) raises DuplicateError naming the field."""
    await accounts.register("ada", "ada@example.org", PASSWORD)
    with pytest.raises(DuplicateError) as taken:
        await accounts.register("ADA", "other@example.org", PASSWORD)
    assert taken.value.field == "username"
    with pytest.raises(DuplicateError) as taken:
        await accounts.register("bob", "ADA@example.org", PASSWORD)
    assert taken.value.field == "email"


async def test_login_records_last_login_and_activity(
    accounts: AccountService, store: Store
) -> None:
    """A successful login sets last_login_at and logs 'login succeeded' with the IP."""
    user, _ = await accounts.register("ada", "ada@example.org", PASSWORD)
    assert user.last_login_at is None
    logged_in, _ = await accounts.login("ADA@example.org", PASSWORD, ip="10.0.0.7")
    assert logged_in.last_login_at is not None
    entries = await store.activity.list(user_id=user.id)
    [entry] = [e for e in entries if e.message == "login succeeded"]
    assert entry.metadata == {"ip": "10.0.0.7"}


async def test_failed_logins_look_alike_and_are_logged(
    accounts: AccountService, store: Store
) -> None:
    """Unknown login and wrong password raise the same error; both are logged as warnings,
    and the attempted login text is not stored."""
    user, _ = await accounts.register("ada", "ada@example.org", PASSWORD)
    with pytest.raises(InvalidCredentials) as wrong:
        await accounts.login("ada", "not the password")
    with pytest.raises(InvalidCredentials) as unknown:
        await accounts.login("my secret password typed here", PASSWORD)
    assert wrong.value.message == unknown.value.message
    entries = [e for e in await store.activity.list() if e.message == "login failed"]
    assert sorted(e.user_id or "" for e in entries) == sorted(["", user.id])
    assert all(e.level == "warning" for e in entries)
    assert "typed here" not in repr(entries)


async def test_refresh_rotates_the_token(accounts: AccountService) -> None:
    """Refreshing gives a new pair; the new refresh token works, the old one is spent."""
    _, first = await accounts.register("ada", "ada@example.org", PASSWORD)
    _, second = await accounts.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    _, third = await accounts.refresh(second.refresh_token)
    assert (await accounts.authenticate(third.access_token)).username == "ada"


async def test_reusing_a_refresh_token_revokes_its_family(
    accounts: AccountService, store: Store
) -> None:
    """Presenting a spent refresh token is TokenReused, and the token rotated from it dies
    too; other sign-ins of the user survive. The reuse is logged."""
    user, first = await accounts.register("ada", "ada@example.org", PASSWORD)
    _, other_login = await accounts.login("ada", PASSWORD)
    _, rotated = await accounts.refresh(first.refresh_token)
    with pytest.raises(TokenReused):
        await accounts.refresh(first.refresh_token)
    with pytest.raises(InvalidToken):
        await accounts.refresh(rotated.refresh_token)
    await accounts.refresh(other_login.refresh_token)
    assert "refresh token reused; family revoked" in await messages(store, user.id)


async def test_concurrent_refreshes_let_one_through(accounts: AccountService) -> None:
    """Two simultaneous refreshes with one token: one rotates, the other is reuse."""
    _, tokens = await accounts.register("ada", "ada@example.org", PASSWORD)
    results = await asyncio.gather(
        accounts.refresh(tokens.refresh_token),
        accounts.refresh(tokens.refresh_token),
        return_exceptions=True,
    )
    assert sum(isinstance(r, tuple) for r in results) == 1
    assert sum(isinstance(r, TokenReused) for r in results) == 1


async def test_unknown_and_expired_refresh_tokens_are_refused(
    accounts: AccountService, store: Store
) -> None:
    """A made-up refresh token and an expired one are InvalidToken."""
    with pytest.raises(InvalidToken):
        await accounts.refresh("made-up")
    _, tokens = await accounts.register("ada", "ada@example.org", PASSWORD)
    stored = await store.tokens.get_by_hash(hash_refresh_token(tokens.refresh_token))
    assert stored is not None
    await store.tokens.revoke(stored.id, stored.created_at)
    with pytest.raises(InvalidToken):
        await accounts.refresh(tokens.refresh_token)


async def test_refresh_ttl_is_applied(store: Store, accounts: AccountService) -> None:
    """A refresh token expires refresh_ttl_s after it is issued (7 days by default)."""
    _, tokens = await accounts.register("ada", "ada@example.org", PASSWORD)
    stored = await store.tokens.get_by_hash(hash_refresh_token(tokens.refresh_token))
    assert stored is not None
    assert (stored.expires_at - stored.created_at).total_seconds() == 7 * 24 * 3600


async def test_logout_revokes_one_sign_in(accounts: AccountService) -> None:
    """Logging out kills that sign-in's refresh token; another sign-in still refreshes."""
    _, first = await accounts.register("ada", "ada@example.org", PASSWORD)
    _, second = await accounts.login("ada", PASSWORD)
    await accounts.logout(first.refresh_token)
    await accounts.logout(first.refresh_token)  # twice is harmless
    await accounts.logout("never-issued")
    with pytest.raises(InvalidToken):
        await accounts.refresh(first.refresh_token)
    await accounts.refresh(second.refresh_token)


async def test_logout_all_revokes_every_sign_in(accounts: AccountService) -> None:
    """logout_all revokes every refresh token of the user and no one else's."""
    user, first = await accounts.register("ada", "ada@example.org", PASSWORD)
    _, second = await accounts.login("ada", PASSWORD)
    _, bobs = await accounts.register("bob", "bob@example.org", PASSWORD)
    assert await accounts.logout_all(user) == 2
    for token in (first.refresh_token, second.refresh_token):
        with pytest.raises(InvalidToken):
            await accounts.refresh(token)
    await accounts.refresh(bobs.refresh_token)


async def test_deleted_users_tokens_stop_working(accounts: AccountService) -> None:
    """After deletion, the user's (still unexpired) access token and refresh token fail."""
    user, tokens = await accounts.register("ada", "ada@example.org", PASSWORD)
    assert await accounts.delete_user(user.id)
    with pytest.raises(InvalidToken, match="no longer exists"):
        await accounts.authenticate(tokens.access_token)
    with pytest.raises(InvalidToken):
        await accounts.refresh(tokens.refresh_token)
    assert accounts.user_id_of(tokens.access_token) == user.id  # signed, just orphaned


async def test_user_id_of_checks_the_signature(accounts: AccountService) -> None:
    """user_id_of gives the id of a valid token and None for anything else."""
    user, tokens = await accounts.register("ada", "ada@example.org", PASSWORD)
    assert accounts.user_id_of(tokens.access_token) == user.id
    assert accounts.user_id_of(tokens.access_token[:-2] + "xx") is None
    assert accounts.user_id_of(None) is None
