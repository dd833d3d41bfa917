"""Registration rules, the profile, preferences and password changes over HTTP."""

from __future__ import annotations

import uuid

import pytest

from tests.client import Api, assert_error


def name() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


async def test_profile_shows_the_account_without_secrets(api: Api) -> None:
    """GET /auth/profile returns the caller's account, preferences and timestamps, never
    a password hash."""
    account = await api.register()
    response = await api.http.get("/auth/profile", headers=account.headers)
    assert response.status_code == 200
    user = response.json()["user"]
    assert user["id"] == account.user["id"] and user["role"] == "user"
    assert user["preferences"] == {} and user["last_login_at"] is None
    assert "hash" not in response.text and "argon2" not in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_login_is_recorded_in_the_profile(api: Api) -> None:
    """After a login, the profile's last_login_at is set."""
    account = await api.register()
    login = await api.http.post(
        "/auth/login", json={"login": account.user["email"], "password": account.password}
    )
    assert login.status_code == 200
    profile = (await api.http.get("/auth/profile", headers=account.headers)).json()["user"]
    assert profile["last_login_at"] is not None


async def test_display_name_and_preferences_are_kept(api: Api) -> None:
    """PUT /auth/profile changes only the given fields; a later GET returns them."""
    account = await api.register()
    prefs = {"theme": "dark", "editor": {"fontSize": 15, "keymap": "vim"}}
    response = await api.http.put(
        "/auth/profile",
        headers=account.headers,
        json={"display_name": "Ada L.", "preferences": prefs},
    )
    assert response.status_code == 200, response.text
    await api.http.put("/auth/profile", headers=account.headers, json={"display_name": "Ada"})
    user = (await api.http.get("/auth/profile", headers=account.headers)).json()["user"]
    assert (user["display_name"], user["preferences"]) == ("Ada", prefs)


@pytest.mark.parametrize(
    "body",
    [
        {"preferences": ["not", "an", "object"]},
        {"preferences": {"notes": "x" * 20_000}},  # beyond max_preferences_bytes (16 KiB)
        {"display_name": ""},
        {"display_name": " padded "},
        {"display_name": "line\nbreak"},
        {"role": "admin"},  # unknown field: a user cannot make themselves admin
        {"password": "new password"},  # changed through POST /auth/password only
    ],
)
async def test_invalid_profile_updates_are_422(api: Api, body: dict[str, object]) -> None:
    """Malformed, oversized or unknown profile fields answer 422 and change nothing."""
    account = await api.register()
    assert_error(
        await api.http.put("/auth/profile", headers=account.headers, json=body),
        422,
        "validation_error",
    )
    user = (await api.http.get("/auth/profile", headers=account.headers)).json()["user"]
    assert (user["role"], user["preferences"]) == ("user", {})


async def test_email_change_needs_the_current_password(api: Api) -> None:
    """A new email without the current password is 401; with it, the email changes and
    becomes a login."""
    account = await api.register()
    new_email = f"{name()}@Example.org"
    refused = await api.http.put(
        "/auth/profile", headers=account.headers, json={"email": new_email}
    )
    assert_error(refused, 401, "invalid_credentials")
    wrong = {"email": new_email, "current_password": "not it at all"}
    assert_error(await api.http.put("/auth/profile", headers=account.headers, json=wrong), 401)
    right = {"email": new_email, "current_password": account.password}
    response = await api.http.put("/auth/profile", headers=account.headers, json=right)
    assert response.status_code == 200 and response.json()["user"]["email"] == new_email.lower()
    login = await api.http.post(
        "/auth/login", json={"login": new_email, "password": account.password}
    )
    assert login.status_code == 200


async def test_taken_email_is_409(api: Api) -> None:
    """Changing to another account's email answers 409 naming the email field."""
    account, other = await api.register(), await api.register()
    body = {"email": other.user["email"].upper(), "current_password": account.password}
    response = await api.http.put("/auth/profile", headers=account.headers, json=body)
    assert assert_error(response, 409, "duplicate")["details"] == {"field": "email"}


async def test_password_change_ends_other_sign_ins(api: Api) -> None:
    """POST /auth/password with the current password answers a fresh pair, revokes every
    older refresh token, and only the new password logs in afterwards."""
    account = await api.register()
    body = {"current_password": account.password, "new_password": "a whole new secret"}
    response = await api.http.post("/auth/password", headers=account.headers, json=body)
    assert response.status_code == 200, response.text
    fresh = response.json()
    old = await api.http.post("/auth/refresh", json={"refresh_token": account.refresh_token})
    assert_error(old, 401)
    renewed = await api.http.post("/auth/refresh", json={"refresh_token": fresh["refresh_token"]})
    assert renewed.status_code == 200
    login = {"login": account.user["username"]}
    assert_error(
        await api.http.post("/auth/login", json={**login, "password": account.password}), 401
    )
    ok = await api.http.post("/auth/login", json={**login, "password": "a whole new secret"})
    assert ok.status_code == 200


async def test_password_change_with_a_wrong_password_is_401(api: Api) -> None:
    """A wrong current password is 401 and the old password keeps working."""
    account = await api.register()
    body = {"current_password": "not the password", "new_password": "a whole new secret"}
    assert_error(await api.http.post("/auth/password", headers=account.headers, json=body), 401)
    login = {"login": account.user["username"], "password": account.password}
    assert (await api.http.post("/auth/login", json=login)).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", "a" * 33),
        ("username", "dot.ted"),
        ("username", "ünïcode"),
        ("password", "p" * 1025),
        ("password", "seven77"),
    ],
)
async def test_registration_rules(api: Api, field: str, value: str) -> None:
    """Usernames are 3-32 of [a-z0-9_-]; passwords 8-1024 characters; else 422 on the field."""
    body = {
        "username": name(),
        "email": f"{name()}@example.org",
        "password": "long enough",
        field: value,
    }
    error = assert_error(await api.http.post("/auth/register", json=body), 422, "validation_error")
    assert [d["field"] for d in error["details"]] == [field]


async def test_longest_password_is_accepted(api: Api) -> None:
    """A 1024-character password registers and logs in."""
    password = "p" * 1024
    account = await api.register(password=password)
    login = {"login": account.user["username"], "password": password}
    assert (await api.http.post("/auth/login", json=login)).status_code == 200
