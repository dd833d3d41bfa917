"""The token lifecycle over HTTP: refresh rotation and reuse, logout, bad access tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.auth_helpers import bearer, codecrafter_admin, forge, jwt_secret, unsigned_token
from tests.client import Api, assert_error
from tests.server import JupyterServer


async def test_refresh_rotates_and_reuse_revokes_the_family(api: Api) -> None:
    """A refresh token works once; presenting it again is 401 token_reused and also kills
    the token it was rotated into."""
    account = await api.register()
    first = await api.http.post("/auth/refresh", json={"refresh_token": account.refresh_token})
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != account.refresh_token
    assert rotated["user"]["id"] == account.user["id"]
    profile = await api.http.get("/auth/profile", headers=bearer(rotated["access_token"]))
    assert profile.status_code == 200
    again = await api.http.post("/auth/refresh", json={"refresh_token": account.refresh_token})
    assert_error(again, 401, "token_reused")
    dead = await api.http.post("/auth/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert_error(dead, 401, "invalid_token")


async def test_unknown_refresh_token_is_401(api: Api) -> None:
    """A refresh token the server never issued is refused with 401 invalid_token."""
    response = await api.http.post("/auth/refresh", json={"refresh_token": "x" * 43})
    assert_error(response, 401, "invalid_token")


async def test_logout_revokes_the_refresh_token(api: Api) -> None:
    """Logout answers 204; the refresh token is dead afterwards; logging out again is fine."""
    account = await api.register()
    body = {"refresh_token": account.refresh_token}
    assert (await api.http.post("/auth/logout", json=body)).status_code == 204
    assert (await api.http.post("/auth/logout", json=body)).status_code == 204
    assert_error(await api.http.post("/auth/refresh", json=body), 401, "invalid_token")


async def test_logout_all_revokes_every_sign_in(api: Api) -> None:
    """logout-all revokes the refresh tokens of every sign-in of the caller (and reports
    how many); the access token in hand stays valid until it expires."""
    account = await api.register()
    login = await api.http.post(
        "/auth/login", json={"login": account.user["username"], "password": account.password}
    )
    second_refresh = login.json()["refresh_token"]
    response = await api.http.post("/auth/logout-all", headers=account.headers)
    assert response.status_code == 200 and response.json() == {"revoked": 2}
    for token in (account.refresh_token, second_refresh):
        assert_error(await api.http.post("/auth/refresh", json={"refresh_token": token}), 401)
    assert (await api.http.get("/auth/profile", headers=account.headers)).status_code == 200


async def test_logout_all_needs_a_bearer_token(api: Api) -> None:
    """logout-all without an access token is 401 and revokes nothing."""
    account = await api.register()
    assert_error(await api.http.post("/auth/logout-all"), 401, "unauthenticated")
    refreshed = await api.http.post("/auth/refresh", json={"refresh_token": account.refresh_token})
    assert refreshed.status_code == 200


async def test_expired_access_token_is_401_token_expired(
    api: Api, embedded_server: JupyterServer
) -> None:
    """A genuine but expired access token answers 401 token_expired."""
    account = await api.register()
    past = datetime.now(UTC) - timedelta(hours=1)
    token = forge(
        jwt_secret(embedded_server),
        sub=account.user["id"],
        iat=past,
        exp=past + timedelta(minutes=15),
    )
    assert_error(await api.http.get("/auth/profile", headers=bearer(token)), 401, "token_expired")


@pytest.mark.parametrize("kind", ["forged signature", "alg none", "HS512", "not access"])
async def test_bad_access_tokens_are_401(
    api: Api, embedded_server: JupyterServer, kind: str
) -> None:
    """Tokens with a wrong signature, no signature, another algorithm or another type are
    refused with 401 invalid_token, even when they name a real admin-looking user."""
    account = await api.register()
    claims = {"sub": account.user["id"], "role": "admin"}
    secret = jwt_secret(embedded_server)
    token = {
        "forged signature": lambda: forge("another-secret-of-enough-length-0123456789", **claims),
        "alg none": lambda: unsigned_token(**claims, jti="j", iat=0, exp=2**31, typ="access"),
        "HS512": lambda: forge(secret + secret, algorithm="HS512", **claims),
        "not access": lambda: forge(secret, typ="refresh", **claims),
    }[kind]()
    assert_error(await api.http.get("/auth/profile", headers=bearer(token)), 401, "invalid_token")


async def test_token_of_a_deleted_user_is_401(api: Api, embedded_server: JupyterServer) -> None:
    """After an account is deleted, its unexpired access token answers 401 and its refresh
    token cannot be used."""
    account = await api.register()
    await codecrafter_admin(embedded_server, "delete-user", account.user["username"])
    error = assert_error(await api.http.get("/auth/profile", headers=account.headers), 401)
    assert error["code"] == "invalid_token" and "no longer exists" in error["message"]
    refreshed = await api.http.post("/auth/refresh", json={"refresh_token": account.refresh_token})
    assert_error(refreshed, 401, "invalid_token")


async def test_role_claim_in_the_token_grants_nothing(
    api: Api, embedded_server: JupyterServer
) -> None:
    """A validly signed token claiming role=admin for a plain user still gets 403 on admin
    endpoints: the role is read from the account on every request."""
    account = await api.register()
    token = forge(jwt_secret(embedded_server), sub=account.user["id"], role="admin")
    assert_error(await api.http.get("/admin/activity", headers=bearer(token)), 403, "forbidden")


async def test_authorization_header_schemes(api: Api) -> None:
    """Only 'Bearer <token>' authenticates (any case of 'Bearer'); other schemes are 401."""
    account = await api.register()
    token = account.access_token
    ok = await api.http.get("/auth/profile", headers={"Authorization": f"bearer {token}"})
    assert ok.status_code == 200
    for header in (f"Token {token}", f"Basic {token}", token, "Bearer"):
        response = await api.http.get("/auth/profile", headers={"Authorization": header})
        assert_error(response, 401)
