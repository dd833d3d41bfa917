"""Profiles, password changes, roles and account deletion in the account service."""

from __future__ import annotations

import pytest

from jupyter_codecrafter.accounts.service import AccountService
from jupyter_codecrafter.errors import (
    DuplicateError,
    InvalidCredentials,
    InvalidToken,
    NotFound,
    ValidationFailed,
)
from jupyter_codecrafter.store.base import Store
from jupyter_codecrafter.store.records import UserRole

PASSWORD = "correct horse"


async def test_profile_fields_update_and_persist(accounts: AccountService, store: Store) -> None:
    """Display name and preferences change and are read back from the store."""
    user, _ = await accounts.register("ada", "ada@example.org", PASSWORD)
    prefs = {"theme": "dark", "editor": {"fontSize": 14, "vim": True}}
    updated = await accounts.update_profile(user, display_name="Ada L.", preferences=prefs)
    stored = await store.users.get(user.id)
    assert stored is not None
    assert (stored.display_name, stored.preferences) == ("Ada L.", prefs)
    assert updated.updated_at >= user.updated_at


async def test_nothing_to_change_changes_nothing(accounts: AccountService) -> None:
    """An update with no fields returns the user as it was."""
    user, _ = await accounts.register("ada", "ada@example.org", PASSWORD)
    assert await accounts.update_profile(user) == user


async def test_oversized_preferences_are_refused(accounts: AccountService, store: Store) -> None:
    """Preferences beyond the byte cap are a validation error on that field; nothing changes."""
    user, _ = await accounts.register("ada", "ada@example.org", PASSWORD)
    with pytest.raises(ValidationFailed) as info:
        await accounts.update_profile(user, preferences={"notes": "x" * 2000})
    assert info.value.details[0]["field"] == "preferences"
    stored = await store.users.get(user.id)
    assert stored is not None and stored.preferences == {}


async def test_new_email_needs_the_current_password(accounts: AccountService) -> None:
    """Changing the email without (or with a wrong) current password is refused."""
    user, _ = await accounts.register("ada", "ada@example.org", PASSWORD)
    for given in (None, "wrong password"):
        with pytest.raises(InvalidCredentials):
            await accounts.update_profile(user, email="new@example.org", current_password=given)
    updated = await accounts.update_profile(
        user, email="New@Example.org", current_password=PASSWORD
    )
    assert updated.email == "new@example.org"
    same = await accounts.update_profile(updated, email="NEW@example.org")  # no change: no check
    assert same.email == "new@example.org"


async def test_taken_email_is_a_duplicate(accounts: AccountService) -> None:
    """Changing to another account's email raises DuplicateError('email')."""
    user, _ = await accounts.register("ada", "ada@example.org", PASSWORD)
    await accounts.register("bob", "bob@example.org", PASSWORD)
    with pytest.raises(DuplicateError) as info:
        await accounts.update_profile(user, email="BOB@example.org", current_password=PASSWORD)
    assert info.value.field == "email"


async def test_password_change_ends_other_sign_ins(accounts: AccountService, store: Store) -> None:
    """A password change revokes every refresh token, issues a fresh pair, swaps which
    password logs in, and is logged."""
    user, first = await accounts.register("ada", "ada@example.org", PASSWORD)
    _, second = await accounts.login("ada", PASSWORD)
    fresh = await accounts.change_password(user, PASSWORD, "a brand new password")
    for old in (first.refresh_token, second.refresh_token):
        with pytest.raises(InvalidToken):
            await accounts.refresh(old)
    await accounts.refresh(fresh.refresh_token)
    with pytest.raises(InvalidCredentials):
        await accounts.login("ada", PASSWORD)
    await accounts.login("ada", "a brand new password")
    assert "password changed" in [e.message for e in await store.activity.list(user_id=user.id)]


async def test_password_change_needs_the_current_password(accounts: AccountService) -> None:
    """A wrong current password changes nothing."""
    user, tokens = await accounts.register("ada", "ada@example.org", PASSWORD)
    with pytest.raises(InvalidCredentials):
        await accounts.change_password(user, "wrong password", "a brand new password")
    await accounts.refresh(tokens.refresh_token)
    await accounts.login("ada", PASSWORD)


async def test_role_change_applies_at_once_and_is_logged(
    accounts: AccountService, store: Store
) -> None:
    """A new role is seen by the next authentication (not frozen in the token) and logged
    with the old and new roles and who made the change."""
    user, tokens = await accounts.register("ada", "ada@example.org", PASSWORD)
    await accounts.set_role(user.id, UserRole.ADMIN, by="someone")
    assert (await accounts.authenticate(tokens.access_token)).role == UserRole.ADMIN
    # Entries of one millisecond have no order: pick the entry by its message.
    [entry] = [e for e in await store.activity.list(user_id=user.id) if e.message == "role changed"]
    assert entry.metadata == {"old_role": "user", "new_role": "admin", "by": "someone"}
    with pytest.raises(NotFound):
        await accounts.set_role("missing", UserRole.ADMIN)


async def test_configured_admins_are_promoted(accounts: AccountService) -> None:
    """promote_admins makes the listed existing accounts admins and skips unknown names."""
    ada, _ = await accounts.register("ada", "ada@example.org", PASSWORD)
    bob, _ = await accounts.register("bob", "bob@example.org", PASSWORD)
    await accounts.promote_admins(["ADA", "nobody"])
    assert (await accounts.get_user(ada.id)).role == UserRole.ADMIN
    assert (await accounts.get_user(bob.id)).role == UserRole.USER


async def test_deleting_a_user_removes_it_everywhere(
    accounts: AccountService, store: Store
) -> None:
    """A deleted account cannot log in, is not found, and its deletion is logged."""
    user, _ = await accounts.register("ada", "ada@example.org", PASSWORD)
    assert await accounts.delete_user(user.id, by="admin")
    assert not await accounts.delete_user(user.id)
    with pytest.raises(InvalidCredentials):
        await accounts.login("ada", PASSWORD)
    with pytest.raises(NotFound):
        await accounts.get_user_by_username("ada")
    assert "user deleted" in [e.message for e in await store.activity.list(user_id=user.id)]
