"""Signing in as a class does: from one school address, with a few typos, on the default
limits; guessing passwords is refused per account and per address. And registering or
signing in needs no XSRF token, whatever Jupyter's own token setting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from jupyter_codecrafter.config import CodeCrafterSettings
from tests.client import assert_error
from tests.server import JupyterServer, running, start_server

PASSWORD = "long enough"
SMALL_LIMITS = {
    "CODECRAFTER_RATE_LIMIT_LOGIN_FAILURES_ACCOUNT": "3/minute",
    "CODECRAFTER_RATE_LIMIT_LOGIN_FAILURES_IP": "5/minute",
}


def default_limits() -> dict[str, str]:
    """The shipped defaults, in place of the generous ones other suites start with."""
    defaults = CodeCrafterSettings()
    names = ("login", "register", "unauthenticated", "authenticated", "execute")
    return {
        f"CODECRAFTER_RATE_LIMIT_{n.upper()}": getattr(defaults, f"rate_limit_{n}") for n in names
    }


@asynccontextmanager
async def client_at(server: JupyterServer, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    """An API client whose requests come from the loopback address ``ip``."""
    transport = httpx.AsyncHTTPTransport(local_address=ip)
    async with httpx.AsyncClient(base_url=server.api, transport=transport, timeout=60) as client:
        yield client


async def register(client: httpx.AsyncClient, name: str | None = None) -> str:
    name = name or f"s{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.org", "password": PASSWORD}
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    return name


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post("/auth/login", json={"login": name, "password": password})


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    server = start_server(tmp_path_factory.mktemp("signin"), SMALL_LIMITS)
    with running(server):
        yield server


async def test_wrong_passwords_lock_that_account_only(limited: JupyterServer) -> None:
    """After 3 failed sign-ins an account answers 429 with Retry-After, even to its right
    password; another account behind the same address signs in normally."""
    async with client_at(limited, "127.0.0.41") as client:
        victim, other = await register(client), await register(client)
        for _ in range(3):
            assert_error(await login(client, victim, "wrong password"), 401, "invalid_credentials")
        refused = await login(client, victim)
        assert_error(refused, 429, "rate_limited")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert (await login(client, other)).status_code == 200


async def test_a_successful_sign_in_clears_the_accounts_failures(limited: JupyterServer) -> None:
    """Two typos, a success, two typos again: the account is never locked."""
    async with client_at(limited, "127.0.0.42") as client:
        name = await register(client)
        for _ in range(2):
            assert_error(await login(client, name, "typo"), 401)
        assert (await login(client, name)).status_code == 200
        for _ in range(2):
            assert_error(await login(client, name, "typo"), 401)
        assert (await login(client, name)).status_code == 200


async def test_guessing_across_accounts_is_limited_per_address(limited: JupyterServer) -> None:
    """Five failures on five accounts from one address refuse that address's next sign-in;
    another address is unaffected."""
    async with client_at(limited, "127.0.0.43") as client:
        for _ in range(5):
            assert_error(await login(client, f"nobody{uuid.uuid4().hex[:6]}", "guess"), 401)
        assert_error(await login(client, "anyone", "guess"), 429, "rate_limited")
    async with client_at(limited, "127.0.0.44") as other:
        assert_error(await login(other, "anyone", "guess"), 401, "invalid_credentials")


async def test_a_class_of_40_behind_one_address_is_never_refused(tmp_path: Path) -> None:
    """With the default limits, 40 students register, sign in (a quarter after a typo),
    renew their sign-in and load their profile from one address: no request is refused."""
    server = start_server(tmp_path, default_limits())
    with running(server):
        async with client_at(server, "127.0.0.45") as client:
            statuses = await asyncio.gather(*(student(client, i) for i in range(40)))
    assert [s for s in statuses if s != [401, 200, 200, 200]] == []


async def student(client: httpx.AsyncClient, index: int) -> list[int]:
    """What one student's sign-in looks like from the server: the statuses it answered."""
    name = await register(client)
    typo = await login(client, name, "typo") if index % 4 == 0 else httpx.Response(401)
    signed_in = await login(client, name)
    refresh = {"refresh_token": signed_in.json()["refresh_token"]}
    refreshed = await client.post("/auth/refresh", json=refresh)
    token = refreshed.json()["access_token"]
    profile = await client.get("/auth/profile", headers={"Authorization": f"Bearer {token}"})
    return [typo.status_code, signed_in.status_code, refreshed.status_code, profile.status_code]


@pytest.mark.parametrize("token", ["a-jupyter-token", ""], ids=["token", "empty token"])
async def test_register_and_login_need_no_xsrf_token(tmp_path: Path, token: str) -> None:
    """With Jupyter's token set or empty (--IdentityProvider.token=), a script registers
    and signs in with plain JSON: no cookie carries authority, so nothing needs _xsrf."""
    server = start_server(tmp_path, {}, args=[f"--IdentityProvider.token={token}"])
    with running(server):
        async with httpx.AsyncClient(base_url=server.api, timeout=30) as client:
            name = await register(client)
            response = await login(client, name)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["username"] == name
