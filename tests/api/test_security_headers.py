"""API-wide rules on the shared server: security headers, body rules, XSRF for cookies."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.api.auth_helpers import jupyter_token
from tests.client import Api, assert_error
from tests.server import JupyterServer

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
    "x-frame-options": "DENY",
}


def assert_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    assert "default-src 'none'" in response.headers["content-security-policy"]


async def test_security_headers_on_answers_and_errors(api: Api) -> None:
    """Success, auth and error responses alike carry nosniff, no-referrer, no-store, DENY
    and a locked-down CSP."""
    account = await api.register()
    responses = [
        await api.http.get("/health"),
        await api.http.get("/auth/profile", headers=account.headers),
        await api.http.post("/auth/login", json={"login": "nobody", "password": "x"}),
        await api.http.get("/auth/profile"),
        await api.http.post(
            "/auth/login", content=b"{", headers={"Content-Type": "application/json"}
        ),
        await api.http.get("/admin/activity", headers=account.headers),
    ]
    assert [r.status_code for r in responses] == [200, 200, 401, 401, 400, 403]
    for response in responses:
        assert_security_headers(response)


async def test_oversized_body_is_413(api: Api) -> None:
    """A JSON body over max_body_bytes (1 MB) answers 413 with the cap in the details."""
    body = json.dumps({"login": "x" * 1_000_001, "password": "y"})
    response = await api.http.post(
        "/auth/login", content=body, headers={"Content-Type": "application/json"}
    )
    assert assert_error(response, 413, "payload_too_large")["details"] == {"max_bytes": 1_000_000}
    assert_security_headers(response)


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
async def test_non_json_body_is_415(api: Api, content_type: str | None) -> None:
    """A body declared as anything but application/json answers 415."""
    headers = {"Content-Type": content_type} if content_type else {}
    body = b'{"login": "a", "password": "b"}'
    response = await api.http.post("/auth/login", content=body, headers=headers)
    assert_error(response, 415, "unsupported_media_type")


async def test_json_with_charset_is_accepted(api: Api) -> None:
    """application/json; charset=utf-8 is JSON too."""
    account = await api.register()
    body = json.dumps({"login": account.user["username"], "password": account.password})
    response = await api.http.post(
        "/auth/login", content=body, headers={"Content-Type": "application/json; charset=utf-8"}
    )
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/auth/login", {"login": "a", "password": "b", "remember": True}),
        ("/auth/refresh", {"refresh_token": "abc", "extra": 1}),
        ("/auth/logout", {"refresh_token": "abc", "all": True}),
    ],
)
async def test_unknown_field_is_422(api: Api, path: str, body: dict[str, object]) -> None:
    """A body with a field the endpoint does not define answers 422 naming that field."""
    error = assert_error(await api.http.post(path, json=body), 422, "validation_error")
    assert [d["field"] for d in error["details"]] == [list(body)[-1]]


async def test_body_that_is_not_an_object_is_422(api: Api) -> None:
    """A JSON array or string where an object is expected answers 422."""
    for payload in ([], "text", 3):
        assert_error(await api.http.post("/auth/login", json=payload), 422, "validation_error")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"login": "a", "password": "\\ud800"}',  # a lone surrogate cannot be encoded
        b'{"login": "a", "password": "b", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b"",
    ],
    ids=["lone surrogate", "deep nesting", "empty"],
)
async def test_json_that_cannot_be_used_is_400(api: Api, raw: bytes) -> None:
    """Bodies that cannot be used as JSON (lone surrogates, absurd nesting, nothing) are
    400, never a server error."""
    response = await api.http.post(
        "/auth/login", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize(
    "body",
    [{"login": 12345678, "password": "long enough"}, {"login": "ada", "password": True}],
)
async def test_wrong_json_types_are_422(api: Api, body: dict[str, object]) -> None:
    """Values of the wrong JSON type are refused, not converted (strict validation)."""
    assert_error(await api.http.post("/auth/login", json=body), 422, "validation_error")


async def test_unsupported_method_is_405_json(api: Api) -> None:
    """A method an endpoint does not define answers 405 with the JSON error shape and an
    Allow header listing the methods it does answer."""
    response = await api.http.delete("/auth/login")
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == {"POST", "OPTIONS"}


async def test_unknown_paths_under_the_api_are_json_404(api: Api) -> None:
    """Any path under /api/codecrafter that no endpoint matches (including a malformed id)
    is a JSON 404, whatever the method."""
    for method, path in [("GET", "/nope"), ("POST", "/sessions/not%20an%20id"), ("PUT", "/x/y")]:
        assert_error(await api.http.request(method, path, json={}), 404, "not_found")


@pytest.fixture
async def browser(embedded_server: JupyterServer) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding Jupyter's login and _xsrf cookies, as a signed-in browser tab does."""
    async with httpx.AsyncClient(base_url=embedded_server.url, timeout=30) as client:
        signed_in = await client.get(f"/lab?token={jupyter_token(embedded_server)}")
        assert signed_in.status_code == 200
        assert "_xsrf" in client.cookies
        yield client


async def test_cookie_requests_need_the_xsrf_token(browser: httpx.AsyncClient) -> None:
    """A cookie-carrying POST without the XSRF token is refused (403) before anything runs;
    with the token it goes through to the handler (here: 401, no Bearer token)."""
    path = "/api/codecrafter/auth/logout-all"
    assert_error(await browser.post(path), 403, "forbidden")
    xsrf = {"X-XSRFToken": browser.cookies["_xsrf"]}
    assert_error(await browser.post(path, headers=xsrf), 401, "unauthenticated")


async def test_bearer_requests_are_exempt_from_xsrf(browser: httpx.AsyncClient, api: Api) -> None:
    """The same cookie-carrying POST with a Bearer token needs no XSRF token."""
    account = await api.register()
    response = await browser.post("/api/codecrafter/auth/logout-all", headers=account.headers)
    assert response.status_code == 200, response.text
