"""Registering and logging in over the REST API."""

from __future__ import annotations

import uuid

from tests.client import Api


def _name() -> str:
    return f"u{uuid.uuid4().hex[:10]}"


async def test_register_returns_user_and_bearer_tokens(api: Api) -> None:
    """Registering answers 201 with the user and a Bearer token pair."""
    name = _name()
    response = await api.http.post(
        "/auth/register",
        json={"username": name, "email": f"{name}@Example.org", "password": "s3cret-pass"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["username"] == name
    assert body["user"]["email"] == f"{name}@example.org"
    assert "password" not in str(body["user"]) and "hash" not in str(body["user"])
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 900
    assert body["access_token"] and body["refresh_token"]


async def test_login_by_username_or_email(api: Api) -> None:
    """Login accepts the username or the email, in any case."""
    account = await api.register()
    name = account.user["username"]
    for login in (name, name.upper(), f"{name}@EXAMPLE.org"):
        response = await api.http.post(
            "/auth/login", json={"login": login, "password": account.password}
        )
        assert response.status_code == 200, login
        assert response.json()["user"]["id"] == account.user["id"]


async def test_access_token_authenticates_api_calls(api: Api) -> None:
    """A freshly issued access token lets the user create a session."""
    account = await api.register()
    session = await api.create_session(account, title="Mine")
    assert session["owner"] == account.user["id"]
    assert session["title"] == "Mine"
    assert session["role"] == "owner"
