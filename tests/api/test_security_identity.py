"""The optional classroom configuration: CodeCrafter accounts sign in to Jupyter itself,
and only admins get the host's kernels, terminals and file writes.

A server of its own, configured as the docs say. Each test speaks from its own loopback
address, so the per-address login limit of one test does not touch another.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from tests.api.auth_helpers import codecrafter_admin, jupyter_token
from tests.client import assert_error
from tests.server import JupyterServer, running, start_server

IDENTITY = "jupyter_codecrafter.api.identity."
CONFIG = {
    "ServerApp": {
        "identity_provider_class": IDENTITY + "CodeCrafterIdentityProvider",
        "authorizer_class": IDENTITY + "CodeCrafterAuthorizer",
    }
}
PASSWORD = "classroom password"


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    workdir = Path(tmp_path_factory.mktemp("classroom"))
    (workdir / "config").mkdir()
    (workdir / "config" / "jupyter_server_config.json").write_text(json.dumps(CONFIG))
    env = {"CODECRAFTER_RATE_LIMIT_LOGIN": "5/minute"}
    # Code runs unconfined here: who may run it is what the sandbox test below checks.
    env["CODECRAFTER_DANGEROUSLY_ALLOW_UNCONFINED_RUNS"] = "0"
    server = start_server(workdir, env)
    with running(server):
        yield server


@asynccontextmanager
async def browser(server: JupyterServer, ip: str) -> AsyncIterator[httpx.AsyncClient]:
    """A cookie-keeping client speaking from ``ip``."""
    transport = httpx.AsyncHTTPTransport(local_address=ip)
    async with httpx.AsyncClient(base_url=server.url, transport=transport, timeout=60) as client:
        yield client


async def account(
    client: httpx.AsyncClient, *, admin_of: JupyterServer | None = None
) -> dict[str, str]:
    """Register (through the CodeCrafter API); promote with the CLI when ``admin_of``."""
    name = f"c{uuid.uuid4().hex[:10]}"
    body = {"username": name, "email": f"{name}@example.org", "password": PASSWORD}
    response = await client.post("/api/codecrafter/auth/register", json=body)
    assert response.status_code == 201, response.text
    if admin_of is not None:
        await codecrafter_admin(admin_of, "set-role", name, "admin")
    return {"username": name, "token": response.json()["access_token"]}


async def sign_in(client: httpx.AsyncClient, login: str, password: str) -> httpx.Response:
    """Fill in and submit the /login form, as a person would."""
    form = await client.get("/login")
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text)
    assert xsrf is not None, form.text
    return await client.post(
        "/login?next=%2Flab", data={"_xsrf": xsrf[1], "login": login, "password": password}
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_anonymous_visitors_are_sent_to_the_login_form(classroom: JupyterServer) -> None:
    """Without credentials /lab redirects to /login, which asks for a username or email and
    a password; Jupyter's own server token does not let anyone in."""
    async with browser(classroom, "127.0.0.31") as client:
        lab = await client.get("/lab")
        assert lab.status_code == 302 and "/login" in lab.headers["location"]
        form = await client.get("/login")
        assert form.status_code == 200 and 'name="login"' in form.text
        status = await client.get("/api/status", params={"token": jupyter_token(classroom)})
        assert status.status_code == 403


async def test_sign_in_with_the_form_opens_lab(classroom: JupyterServer) -> None:
    """The right password sets Jupyter's login cookie and lands on /lab; a wrong one is 401
    with the same message whatever was wrong."""
    async with browser(classroom, "127.0.0.32") as client:
        person = await account(client)
        wrong = await sign_in(client, person["username"], "not the password")
        unknown = await sign_in(client, "nobody-at-all", PASSWORD)
        huge = await sign_in(client, person["username"], "x" * 100_000)
        assert (wrong.status_code, unknown.status_code, huge.status_code) == (401, 401, 401)
        assert "Invalid login or password" in wrong.text and "nobody" not in unknown.text
        signed_in = await sign_in(client, person["username"], PASSWORD)
        assert signed_in.status_code == 302 and signed_in.headers["location"] == "/lab"
        assert (await client.get("/lab")).status_code == 200
        me = (await client.get("/api/me")).json()["identity"]
        assert (me["username"], me["role"]) == (person["username"], "user")
        assert "fingerprint" not in me


async def test_an_access_token_in_the_link_signs_in(classroom: JupyterServer) -> None:
    """Opening /lab?token=<CodeCrafter access token> signs the browser in (cookie kept)."""
    async with browser(classroom, "127.0.0.33") as client:
        person = await account(client)
        assert (await client.get("/lab", params={"token": person["token"]})).status_code == 200
        assert (await client.get("/lab")).status_code == 200


async def test_students_cannot_use_the_hosts_kernels_terminals_or_files(
    classroom: JupyterServer,
) -> None:
    """A non-admin may read contents but gets 403 on kernels, terminals and file writes,
    with a Bearer token or a browser cookie alike."""
    async with browser(classroom, "127.0.0.34") as client:
        person = await account(client)
        auth = bearer(person["token"])
        assert (await client.get("/api/contents", headers=auth)).status_code == 200
        refused = [
            await client.get("/api/kernels", headers=auth),
            await client.post("/api/kernels", headers=auth, json={"name": "python3"}),
            await client.get("/api/terminals", headers=auth),
            await client.post("/api/terminals", headers=auth),
            await client.put(
                "/api/contents/notes.txt",
                headers=auth,
                json={"type": "file", "format": "text", "content": "hi"},
            ),
        ]
        assert [r.status_code for r in refused] == [403] * 5
        await sign_in(client, person["username"], PASSWORD)
        xsrf = {"X-XSRFToken": client.cookies["_xsrf"]}
        cookie_try = await client.post("/api/kernels", headers=xsrf, json={"name": "python3"})
        assert cookie_try.status_code == 403


async def test_admins_keep_the_whole_server(classroom: JupyterServer) -> None:
    """An admin may start (and stop) a host kernel, list terminals and write files."""
    async with browser(classroom, "127.0.0.35") as client:
        admin = await account(client, admin_of=classroom)
        auth = bearer(admin["token"])
        kernel = await client.post("/api/kernels", headers=auth, json={"name": "python3"})
        assert kernel.status_code == 201, kernel.text
        stopped = await client.delete(f"/api/kernels/{kernel.json()['id']}", headers=auth)
        assert stopped.status_code == 204
        assert (await client.get("/api/terminals", headers=auth)).status_code == 200
        written = await client.put(
            "/api/contents/admin-notes.txt",
            headers=auth,
            json={"type": "file", "format": "text", "content": "hi"},
        )
        assert written.status_code == 201


async def test_role_and_password_changes_apply_to_signed_in_browsers(
    classroom: JupyterServer,
) -> None:
    """A promotion takes effect on the next request of a signed-in browser; a password
    change signs that browser out."""
    async with browser(classroom, "127.0.0.36") as client:
        person = await account(client)
        await sign_in(client, person["username"], PASSWORD)
        assert (await client.get("/api/kernels")).status_code == 403
        await codecrafter_admin(classroom, "set-role", person["username"], "admin")
        assert (await client.get("/api/kernels")).status_code == 200
        body = {"current_password": PASSWORD, "new_password": "another classroom password"}
        changed = await client.post(
            "/api/codecrafter/auth/password", json=body, headers=bearer(person["token"])
        )
        assert changed.status_code == 200
        assert (await client.get("/lab")).status_code == 302


async def test_the_login_form_is_rate_limited(classroom: JupyterServer) -> None:
    """Form sign-ins count against the per-address login limit (5 a minute here): the 6th
    attempt is 429, even with the right password."""
    async with browser(classroom, "127.0.0.37") as client:
        person = await account(client)
        for _ in range(5):
            assert (await sign_in(client, person["username"], "wrong guess")).status_code == 401
        blocked = await sign_in(client, person["username"], PASSWORD)
        assert blocked.status_code == 429 and "Too many requests" in blocked.text


async def test_codecrafter_api_keeps_its_own_rules(classroom: JupyterServer) -> None:
    """On this server too, the CodeCrafter API answers Bearer tokens, and a signed-in
    browser's cookie alone neither authenticates it nor passes without the XSRF token."""
    async with browser(classroom, "127.0.0.38") as client:
        person = await account(client)
        profile = await client.get("/api/codecrafter/auth/profile", headers=bearer(person["token"]))
        assert profile.status_code == 200
        await sign_in(client, person["username"], PASSWORD)
        assert_error(await client.post("/api/codecrafter/auth/logout-all"), 403)
        xsrf = {"X-XSRFToken": client.cookies["_xsrf"]}
        assert_error(await client.post("/api/codecrafter/auth/logout-all", headers=xsrf), 401)


@pytest.mark.parametrize(("admin", "status"), [(False, 403), (True, 202)])
async def test_only_admins_signed_in_to_jupyter_may_run_unconfined(
    classroom: JupyterServer, admin: bool, status: int
) -> None:
    """Signed in to Jupyter here is no licence to run unconfined: the authorizer gives only
    admins the host's kernels, so only their runs pass on a server without a sandbox."""
    async with browser(classroom, "127.0.0.39") as client:
        person = await account(client, admin_of=classroom if admin else None)
        await sign_in(client, person["username"], PASSWORD)
        headers = {"X-XSRFToken": client.cookies["_xsrf"], **bearer(person["token"])}
        body = {"language": "python", "code": "print(1)"}
        response = await client.post("/api/codecrafter/execute/snippet", json=body, headers=headers)
        assert response.status_code == status, response.text


async def test_a_browser_signed_in_to_jupyter_is_signed_in_to_codecrafter(
    classroom: JupyterServer,
) -> None:
    """The panel needs no second sign-in: a refresh with neither token nor cookie, from a
    browser signed in to Jupyter, answers a token pair of that account (refresh in a cookie)."""
    async with browser(classroom, "127.0.0.40") as client:
        person = await account(client)
        await sign_in(client, person["username"], PASSWORD)
        headers = {"X-XSRFToken": client.cookies["_xsrf"]}
        response = await client.post("/api/codecrafter/auth/refresh", json={}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["user"]["username"] == person["username"]
        assert "codecrafter_refresh" in client.cookies
        forged = await client.post("/api/codecrafter/auth/refresh", json={})
        assert forged.status_code == 403
