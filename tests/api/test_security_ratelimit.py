"""Rate limits on a server of their own with small limits.

Each test speaks from its own loopback address (127.0.0.x), so per-IP counters don't mix
between tests, and a second address shows that limits are per client.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.auth_helpers import bearer
from tests.client import assert_error
from tests.server import JupyterServer, running, start_server

LIMITS = {
    "CODECRAFTER_RATE_LIMIT_LOGIN": "3/4 seconds",
    "CODECRAFTER_RATE_LIMIT_REGISTER": "2/minute",
    "CODECRAFTER_RATE_LIMIT_UNAUTHENTICATED": "30/minute",
    "CODECRAFTER_RATE_LIMIT_AUTHENTICATED": "5/minute",
    "CODECRAFTER_RATE_LIMIT_EXECUTE": "2/minute",
}


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    server = start_server(tmp_path_factory.mktemp("ratelimits"), LIMITS)
    with running(server):
        yield server


@asynccontextmanager
async def client_at(server: JupyterServer, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    """An API client whose requests come from the loopback address ``ip``."""
    transport = httpx.AsyncHTTPTransport(local_address=ip)
    async with httpx.AsyncClient(base_url=server.api, transport=transport, timeout=30) as client:
        yield client


async def register(client: httpx.AsyncClient) -> str:
    """A new account's access token."""
    name = f"u{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.org", "password": "long enough"}
    response = await client.post("/auth/register", json=body)
    assert response.status_code == 201, response.text
    return str(response.json()["access_token"])


def retry_after(response: httpx.Response) -> int:
    """The 429's Retry-After, checked against the JSON error."""
    error = assert_error(response, 429, "rate_limited")
    seconds = int(response.headers["retry-after"])
    assert error["details"] == {"retry_after_s": seconds}
    assert response.headers["cache-control"] == "no-store"
    return seconds


async def test_login_attempts_are_limited_per_ip_and_reset(limited_server: JupyterServer) -> None:
    """The 4th login in the window is 429 with Retry-After; another address is unaffected;
    after waiting Retry-After seconds, logging in is possible again."""
    attempt = {"login": "nobody", "password": "wrong password"}
    async with client_at(limited_server, "127.0.0.11") as client:
        for _ in range(3):
            assert_error(await client.post("/auth/login", json=attempt), 401)
        wait_s = retry_after(await client.post("/auth/login", json=attempt))
        assert 1 <= wait_s <= 4
        async with client_at(limited_server, "127.0.0.12") as other:
            assert_error(await other.post("/auth/login", json=attempt), 401)
        await asyncio.sleep(wait_s)  # the wait the server asked for is the behaviour under test
        assert_error(await client.post("/auth/login", json=attempt), 401)


async def test_registrations_are_limited_per_ip(limited_server: JupyterServer) -> None:
    """The 3rd registration from one address within the minute is 429 and creates nothing."""
    async with client_at(limited_server, "127.0.0.13") as client:
        await register(client)
        await register(client)
        name = f"u{uuid.uuid4().hex[:10]}"
        body = {"username": name, "email": f"{name}@example.org", "password": "long enough"}
        retry_after(await client.post("/auth/register", json=body))
    async with client_at(limited_server, "127.0.0.14") as other:
        login = await other.post("/auth/login", json={"login": name, "password": "long enough"})
        assert_error(login, 401, "invalid_credentials")


async def test_unauthenticated_requests_are_limited_per_ip(
    limited_server: JupyterServer,
) -> None:
    """Requests without an access token count per address (here 30 a minute); health is
    never limited, and a signed-in user at the same address still gets through."""
    async with client_at(limited_server, "127.0.0.16") as signup:
        token = await register(signup)
    async with client_at(limited_server, "127.0.0.15") as client:
        for _ in range(30):
            assert (await client.get("/openapi.json")).status_code == 200
        retry_after(await client.get("/openapi.json"))
        retry_after(await client.get("/auth/profile", headers=bearer("not-a-valid-token")))
        for _ in range(40):
            assert (await client.get("/health")).status_code == 200
        assert (await client.get("/auth/profile", headers=bearer(token))).status_code == 200


async def test_authenticated_requests_are_limited_per_user(
    limited_server: JupyterServer,
) -> None:
    """A user's 6th call in the minute is 429; another user at the same address is not."""
    async with client_at(limited_server, "127.0.0.17") as client:
        first, second = await register(client), await register(client)
        for _ in range(5):
            assert (await client.get("/auth/profile", headers=bearer(first))).status_code == 200
        retry_after(await client.get("/auth/profile", headers=bearer(first)))
        assert (await client.get("/auth/profile", headers=bearer(second))).status_code == 200


async def test_runs_have_their_own_per_user_limit(limited_server: JupyterServer) -> None:
    """The 3rd snippet run in the minute is 429 while the user's other calls still work."""
    run = {"language": "python", "code": "print(1)"}
    async with client_at(limited_server, "127.0.0.18") as client:
        token = await register(client)
        for _ in range(2):
            response = await client.post("/execute/snippet", json=run, headers=bearer(token))
            assert response.status_code == 202, response.text
        retry_after(await client.post("/execute/snippet", json=run, headers=bearer(token)))
        assert (await client.get("/auth/profile", headers=bearer(token))).status_code == 200


@pytest.fixture
def redis_servers(
    tmp_path_factory: pytest.TempPathFactory, redis_clean: str, namespace: str
) -> Iterator[tuple[JupyterServer, JupyterServer]]:
    """Two instances sharing Redis (and so rate-limit counters), as behind a load balancer."""
    env = {
        "CODECRAFTER_REDIS_URL": redis_clean,
        "CODECRAFTER_NAMESPACE": namespace,
        "CODECRAFTER_RATE_LIMIT_LOGIN": "3/minute",
    }
    servers = [start_server(Path(tmp_path_factory.mktemp(f"redis{i}")), env) for i in (1, 2)]
    with running(*servers):
        yield servers[0], servers[1]


async def test_counters_hold_across_instances(
    redis_servers: tuple[JupyterServer, JupyterServer],
) -> None:
    """With Redis configured, login attempts on two instances add up to one limit."""
    first, second = redis_servers
    attempt = {"login": "nobody", "password": "wrong password"}
    async with client_at(first, "127.0.0.20") as a, client_at(second, "127.0.0.20") as b:
        assert_error(await a.post("/auth/login", json=attempt), 401)
        assert_error(await b.post("/auth/login", json=attempt), 401)
        assert_error(await a.post("/auth/login", json=attempt), 401)
        retry_after(await b.post("/auth/login", json=attempt))
