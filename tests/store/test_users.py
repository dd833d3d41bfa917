"""UserRepository: accounts, unique usernames and emails, log-in lookups."""

from __future__ import annotations

import pytest

from jupyter_codecrafter.errors import DuplicateError
from jupyter_codecrafter.store import Store
from jupyter_codecrafter.store.records import UserRole

from . import factories as f


async def test_created_user_reads_back_unchanged(store: Store) -> None:
    """A user reads back exactly as created: enums, nested preferences, datetimes."""
    user = f.user(
        role=UserRole.ADMIN,
        display_name="Ada Lovelace",
        preferences={"theme": "dark", "editor": {"tabs": 4, "wrap": None}, "langs": ["c", 1.5]},
        last_login_at=f.at(3),
    )
    await store.users.create(user)
    assert await store.users.get(user.id) == user
    stored = await store.users.get(user.id)
    assert stored is not None
    assert isinstance(stored.role, UserRole)
    assert stored.created_at.utcoffset() is not None


async def test_unknown_user_is_none(store: Store) -> None:
    """Looking up a user that does not exist gives None, not an error."""
    assert await store.users.get("missing") is None
    assert await store.users.get_by_username("missing") is None
    assert await store.users.get_by_login("missing@example.org") is None


async def test_username_taken_in_other_case_is_duplicate(store: Store) -> None:
    """A username differing only in case is taken, and the second user is not written."""
    await store.users.create(f.user(username="alice"))
    twin = f.user(username="ALICE", email="other@example.org")
    with pytest.raises(DuplicateError) as caught:
        await store.users.create(twin)
    assert caught.value.field == "username"
    assert await store.users.get(twin.id) is None
    assert await store.users.get_by_login("other@example.org") is None


async def test_email_taken_in_other_case_is_duplicate(store: Store) -> None:
    """An email differing only in case is taken, and the second user is not written."""
    await store.users.create(f.user(email="Bob@Example.org"))
    twin = f.user(email="bob@example.ORG")
    with pytest.raises(DuplicateError) as caught:
        await store.users.create(twin)
    assert caught.value.field == "email"
    assert await store.users.get(twin.id) is None


async def test_same_id_twice_is_duplicate(store: Store) -> None:
    """Creating a second user with an existing id fails and keeps the first."""
    first = f.user()
    await store.users.create(first)
    with pytest.raises(DuplicateError):
        await store.users.create(f.user(id=first.id))
    assert await store.users.get(first.id) == first


async def test_lookups_ignore_case(store: Store) -> None:
    """Users are found by username or by email whatever the case typed."""
    user = f.user(username="carol", email="Carol@Example.org")
    await store.users.create(user)
    assert await store.users.get_by_username("CaRoL") == user
    assert await store.users.get_by_login("CAROL") == user
    assert await store.users.get_by_login("carol@example.ORG") == user
    assert await store.users.get_by_login("carol@example") is None


async def test_update_sets_fields_and_returns_user(store: Store) -> None:
    """Updating fields returns the new user, and later reads see it."""
    user = f.user()
    await store.users.create(user)
    changes = {"display_name": "New", "role": UserRole.ADMIN, "preferences": {"a": [1, 2]}}
    updated = await store.users.update(user.id, {**changes, "last_login_at": f.at(9)})
    assert updated is not None
    assert (updated.display_name, updated.role, updated.preferences) == (
        "New",
        "admin",
        {"a": [1, 2]},
    )
    assert updated.last_login_at == f.at(9)
    assert await store.users.get(user.id) == updated


async def test_renamed_user_is_found_by_new_name_only(store: Store) -> None:
    """After a rename the old username is free and the new one finds the user."""
    user = f.user(username="dave")
    await store.users.create(user)
    await store.users.update(user.id, {"username": "david", "email": "david@example.org"})
    assert await store.users.get_by_username("dave") is None
    assert await store.users.get_by_login("DAVID@example.org") is not None
    await store.users.create(f.user(username="dave"))


async def test_update_to_taken_email_changes_nothing(store: Store) -> None:
    """Changing an email to one already taken fails and leaves the user as it was."""
    await store.users.create(f.user(email="erin@example.org"))
    user = f.user()
    await store.users.create(user)
    with pytest.raises(DuplicateError) as caught:
        await store.users.update(user.id, {"email": "ERIN@example.org", "display_name": "X"})
    assert caught.value.field == "email"
    assert await store.users.get(user.id) == user


async def test_update_of_unknown_user_is_none(store: Store) -> None:
    """Updating a user that does not exist returns None."""
    assert await store.users.update("missing", {"display_name": "x"}) is None
    assert await store.users.update("missing", {}) is None


async def test_update_rejects_unknown_fields_and_id(store: Store) -> None:
    """An update naming a field users don't have, or the id, is refused."""
    user = f.user()
    await store.users.create(user)
    with pytest.raises(ValueError, match="no field"):
        await store.users.update(user.id, {"is_admin": True})
    with pytest.raises(ValueError, match="cannot be changed"):
        await store.users.update(user.id, {"id": "other"})
    assert await store.users.get(user.id) == user


async def test_delete_removes_user_once(store: Store) -> None:
    """Deleting a user answers True once, then False; the user is gone."""
    user = f.user()
    await store.users.create(user)
    assert await store.users.delete(user.id) is True
    assert await store.users.delete(user.id) is False
    assert await store.users.get(user.id) is None
    assert await store.users.get_by_username(user.username) is None


async def test_get_many_returns_existing_users(store: Store) -> None:
    """get_many returns the users that exist among the ids asked for."""
    users = [f.user() for _ in range(3)]
    for user in users:
        await store.users.create(user)
    found = await store.users.get_many([users[0].id, "missing", users[2].id])
    assert sorted(found, key=lambda u: u.id) == sorted([users[0], users[2]], key=lambda u: u.id)
    assert await store.users.get_many([]) == []
