"""Bad input gets a clear JSON error with the right status, and changes nothing."""

from __future__ import annotations

import uuid

import pytest

from tests.client import Api, assert_error


async def test_wrong_password_is_401(api: Api) -> None:
    """A wrong password is refused with 401 and the same message as an unknown login."""
    account = await api.register()
    wrong = await api.http.post(
        "/auth/login", json={"login": account.user["username"], "password": "not the password"}
    )
    unknown = await api.http.post(
        "/auth/login", json={"login": "nobody-" + uuid.uuid4().hex[:6], "password": "whatever1"}
    )
    assert (
        assert_error(wrong, 401, "invalid_credentials")["message"]
        == assert_error(unknown, 401, "invalid_credentials")["message"]
    )


async def test_duplicate_username_is_409_and_writes_nothing(api: Api) -> None:
    """Registering a taken username (any case) answers 409 naming the field; no account is made."""
    account = await api.register()
    name = account.user["username"]
    response = await api.http.post(
        "/auth/register",
        json={
            "username": name.upper(),
            "email": "other-" + name + "@example.org",
            "password": "another-pass",
        },
    )
    error = assert_error(response, 409, "duplicate")
    assert error["details"] == {"field": "username"}
    login = await api.http.post(
        "/auth/login", json={"login": "other-" + name + "@example.org", "password": "another-pass"}
    )
    assert login.status_code == 401


async def test_duplicate_email_is_409(api: Api) -> None:
    """Registering a taken email answers 409 naming the email field."""
    account = await api.register()
    response = await api.http.post(
        "/auth/register",
        json={
            "username": "x" + account.user["username"],
            "email": account.user["email"].upper(),
            "password": "another-pass",
        },
    )
    assert assert_error(response, 409, "duplicate")["details"] == {"field": "email"}


@pytest.mark.parametrize(
    "body",
    [
        {"username": "abc", "email": "abc@example.org"},  # no password
        {"username": "ab", "email": "ab@example.org", "password": "long enough"},  # too short
        {"username": "abc", "email": "not-an-email", "password": "long enough"},
        {"username": "abc", "email": "abc@example.org", "password": "short"},
        {"username": "abc", "email": "abc@example.org", "password": "long enough", "x": 1},
    ],
)
async def test_invalid_registration_is_422_naming_the_field(
    api: Api, body: dict[str, object]
) -> None:
    """Missing, malformed or unknown fields answer 422 naming the field, not echoing input."""
    response = await api.http.post("/auth/register", json=body)
    error = assert_error(response, 422, "validation_error")
    details = error["details"]
    assert isinstance(details, list) and details and all("field" in d for d in details)
    assert "long enough" not in response.text


async def test_malformed_json_is_400(api: Api) -> None:
    """A body that is not JSON answers 400."""
    response = await api.http.post(
        "/auth/login", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "bad_request")


async def test_wrong_content_type_is_415(api: Api) -> None:
    """A form-encoded body answers 415."""
    response = await api.http.post("/auth/login", data={"login": "a", "password": "b"})
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/sessions"),
        ("GET", "/sessions/0123abcd"),
        ("POST", "/execute"),
        ("GET", "/execute/status/0123abcd"),
    ],
)
async def test_no_token_is_401(api: Api, method: str, path: str) -> None:
    """Every authenticated endpoint answers 401 without a Bearer token."""
    response = await api.http.request(method, path, json={})
    assert_error(response, 401, "unauthenticated")


async def test_garbage_token_is_401(api: Api) -> None:
    """A token that is not a valid JWT answers 401 invalid_token."""
    response = await api.http.get(
        "/sessions/0123abcd", headers={"Authorization": "Bearer abc.def.ghi"}
    )
    assert_error(response, 401, "invalid_token")


async def test_unknown_session_is_404(api: Api) -> None:
    """Reading or running in a session that does not exist answers 404."""
    account = await api.register()
    response = await api.http.get("/sessions/" + uuid.uuid4().hex, headers=account.headers)
    assert_error(response, 404, "not_found")
    response = await api.http.post(
        "/execute",
        headers=account.headers,
        json={"session_id": uuid.uuid4().hex, "cell_id": "c", "code": "1"},
    )
    assert_error(response, 404, "not_found")


async def test_private_session_of_someone_else_is_404(api: Api) -> None:
    """A private session is invisible to a stranger: 404, as if it did not exist."""
    owner, stranger = await api.register(), await api.register()
    session = await api.create_session(owner)
    response = await api.http.get(f"/sessions/{session['id']}", headers=stranger.headers)
    assert_error(response, 404, "not_found")


async def test_unknown_job_is_404(api: Api) -> None:
    """Asking for a job that does not exist answers 404."""
    account = await api.register()
    response = await api.http.get("/execute/status/" + uuid.uuid4().hex, headers=account.headers)
    assert_error(response, 404, "not_found")


async def test_oversized_code_is_413(api: Api) -> None:
    """Code beyond the configured cap answers 413 and queues nothing."""
    account = await api.register()
    session = await api.create_session(account)
    response = await api.http.post(
        "/execute",
        headers=account.headers,
        json={"session_id": session["id"], "cell_id": "c", "code": "x" * 300_000},
    )
    assert_error(response, 413, "payload_too_large")
