"""Browser sign-in: the refresh token lives in an HttpOnly cookie no page script can read,
spent only with Jupyter's XSRF token, rotated on every refresh, cleared on logout."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.client import assert_error
from tests.server import JupyterServer

AUTH = "/api/codecrafter/auth"
COOKIE = "codecrafter_refresh"
PASSWORD = "correct horse"


@pytest.fixture
async def browser(embedded_server: JupyterServer) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client that has loaded a Jupyter page (so it holds the _xsrf cookie)."""
    async with httpx.AsyncClient(base_url=embedded_server.url, timeout=30) as client:
        await client.get("/login")
        assert "_xsrf" in client.cookies
        yield client


def xsrf(client: httpx.AsyncClient) -> dict[str, str]:
    return {"X-XSRFToken": client.cookies["_xsrf"]}


async def register(client: httpx.AsyncClient) -> httpx.Response:
    name = f"b{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.org", "password": PASSWORD}
    response = await client.post(f"{AUTH}/register", json={**body, "refresh_cookie": True})
    assert response.status_code == 201, response.text
    return response


async def test_refresh_token_goes_into_an_httponly_strict_cookie(
    browser: httpx.AsyncClient,
) -> None:
    """With refresh_cookie the body has no refresh token; the cookie is HttpOnly,
    SameSite=Strict and sent only to the auth endpoints."""
    response = await register(browser)
    assert response.json()["refresh_token"] is None and response.json()["access_token"]
    header = response.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}=")
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")}
    assert {"httponly", "samesite", "path"} <= attributes
    assert "SameSite=Strict" in header and "Path=/api/codecrafter/auth" in header


async def test_refresh_with_the_cookie_rotates_it(browser: httpx.AsyncClient) -> None:
    """A refresh with the cookie and the XSRF token gives a new access token and a new
    cookie; the old cookie, replayed, revokes the sign-in (token_reused)."""
    await register(browser)
    old = browser.cookies[COOKIE]
    refreshed = await browser.post(f"{AUTH}/refresh", json={}, headers=xsrf(browser))
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["refresh_token"] is None
    assert browser.cookies[COOKIE] != old
    replay = await browser.post(
        f"{AUTH}/refresh", json={}, headers=xsrf(browser), cookies={COOKIE: old}
    )
    assert_error(replay, 401, "token_reused")


async def test_the_cookie_is_not_spent_without_the_xsrf_token(
    browser: httpx.AsyncClient,
) -> None:
    """A forged request (cookie, no XSRF token) is refused and leaves the cookie valid."""
    await register(browser)
    assert_error(await browser.post(f"{AUTH}/refresh", json={}), 403)
    still = await browser.post(f"{AUTH}/refresh", json={}, headers=xsrf(browser))
    assert still.status_code == 200


async def test_logout_clears_the_cookie_and_ends_the_sign_in(browser: httpx.AsyncClient) -> None:
    """Logging out from the browser revokes the cookie's sign-in and clears the cookie."""
    await register(browser)
    token = browser.cookies[COOKIE]
    logout = await browser.post(f"{AUTH}/logout", json={}, headers=xsrf(browser))
    assert logout.status_code == 204
    assert COOKIE not in browser.cookies
    again = await browser.post(
        f"{AUTH}/refresh", json={}, headers=xsrf(browser), cookies={COOKIE: token}
    )
    assert_error(again, 401)


async def test_no_token_and_no_cookie_is_401(browser: httpx.AsyncClient) -> None:
    """A refresh with nothing to spend asks the user to sign in."""
    assert_error(await browser.post(f"{AUTH}/refresh", json={}, headers=xsrf(browser)), 401)


async def test_scripts_keep_the_token_in_the_body(browser: httpx.AsyncClient) -> None:
    """Without refresh_cookie nothing changes for scripts: no cookie, the token in the body."""
    name = f"s{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.org", "password": PASSWORD}
    response = await browser.post(f"{AUTH}/register", json=body)
    assert response.json()["refresh_token"] and COOKIE not in browser.cookies
