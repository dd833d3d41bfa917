"""CORS for configured origins, and no token in the server log (a server of their own,
logging at DEBUG so every request is written down)."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.api.auth_helpers import bearer
from tests.client import Api, assert_error
from tests.server import JupyterServer, running, start_server

ALLOWED = "https://app.example.org"


def configured_server(
    workdir: Path, server_config: dict[str, object], env: dict[str, str]
) -> JupyterServer:
    """A server with a jupyter_server_config.json of the test's own."""
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    (workdir / "config" / "jupyter_server_config.json").write_text(json.dumps(server_config))
    return start_server(workdir, env)


@pytest.fixture(scope="module")
def browser_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    server = configured_server(
        tmp_path_factory.mktemp("cors"),
        {"Application": {"log_level": "DEBUG"}},
        {"CODECRAFTER_CORS_ORIGINS": f"{ALLOWED}, http://localhost:3000"},
    )
    with running(server):
        yield server


@pytest.fixture
async def client(browser_server: JupyterServer) -> AsyncIterator[Api]:
    api = Api(browser_server.api)
    yield api
    await api.aclose()


async def test_preflight_from_an_allowed_origin(client: Api) -> None:
    """OPTIONS from a configured origin allows it, the endpoint's methods, and the
    Authorization and Content-Type headers."""
    response = await client.http.options(
        "/auth/profile",
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert set(response.headers["access-control-allow-methods"].split(", ")) == {"GET", "PUT"}
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed_headers and "content-type" in allowed_headers
    assert "access-control-allow-credentials" not in response.headers


async def test_allowed_origin_can_read_answers_and_errors(client: Api) -> None:
    """Responses to a configured origin, errors included, carry Access-Control-Allow-Origin
    (and expose Retry-After), so a browser frontend can read them."""
    account = await client.register()
    origin = {"Origin": "http://localhost:3000"}
    ok = await client.http.get("/auth/profile", headers={**account.headers, **origin})
    denied = await client.http.get("/auth/profile", headers=origin)
    assert (ok.status_code, denied.status_code) == (200, 401)
    for response in (ok, denied):
        assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
        assert "Origin" in response.headers["vary"]
        assert "Retry-After" in response.headers["access-control-expose-headers"]


async def test_other_origins_get_no_cors_grant(client: Api) -> None:
    """An origin that is not configured gets no Access-Control-Allow-Origin, and its
    cross-site request is refused."""
    account = await client.register()
    evil = {"Origin": "https://evil.example.com"}
    preflight = await client.http.options(
        "/auth/profile", headers={**evil, "Access-Control-Request-Method": "GET"}
    )
    assert preflight.headers.get("access-control-allow-origin") != "https://evil.example.com"
    response = await client.http.get("/auth/profile", headers={**account.headers, **evil})
    assert "access-control-allow-origin" not in response.headers
    assert response.status_code >= 400


def wait_for_log(server: JupyterServer, needle: str, timeout_s: float = 10.0) -> str:
    """The server log once it contains ``needle`` (log lines follow the response)."""
    deadline = time.monotonic() + timeout_s
    while True:
        text = server.log_path.read_text(errors="replace")
        if needle in text:
            return text
        assert time.monotonic() < deadline, f"{needle!r} never appeared in the log"
        time.sleep(0.05)


async def test_tokens_and_passwords_never_reach_the_log(
    client: Api, browser_server: JupyterServer
) -> None:
    """Access tokens (in a header or the query string), refresh tokens and passwords sent
    to the API appear nowhere in the server log, even at DEBUG level."""
    account = await client.register(password="a very secret password")
    refreshed = await client.http.post(
        "/auth/refresh", json={"refresh_token": account.refresh_token}
    )
    new_refresh = refreshed.json()["refresh_token"]
    token = account.access_token
    await client.http.get("/auth/profile", headers=bearer(token))
    await client.http.get("/admin/activity", headers=bearer(token))  # a 403, logged as warning
    assert_error(await client.http.get(f"/auth/profile?token={token}&marker=query"), 401)
    await client.http.post("/auth/logout", json={"refresh_token": new_refresh})
    log = wait_for_log(browser_server, "marker=query")
    assert "token=[secret]" in log
    assert "200 GET /api/codecrafter/auth/profile" in log  # successes are logged too (DEBUG)
    secrets = [token, account.refresh_token, new_refresh, "a very secret password"]
    for secret in secrets:
        assert secret not in log
    assert token.split(".")[2] not in log  # not even the signature part
