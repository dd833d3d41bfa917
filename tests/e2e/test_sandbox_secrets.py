"""A student's code hunting for the server's secrets, through the public API, in every
sandbox mode this machine has (issue: "safe by default").

The code globs everything under the server's own directories (its CodeCrafter data dir
with the JWT secret and the SQLite store, Jupyter's config, data and runtime dirs with the
Jupyter token), reads the password hashes from the store, lists the server's home and
dumps its environment. Confined sandboxes must return none of it; the unconfined one must
refuse ordinary users and, for those it trusts, really does leak it (which shows the probe
works).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.auth_helpers import data_dir, jupyter_token, jwt_secret, register_admin
from tests.client import Account, Api, assert_error
from tests.server import JupyterServer, running, start_server

PROBE = """
import glob, os, sqlite3
found = []
for path in glob.glob({workdir!r} + '/**', recursive=True):
    try:
        found.append((path, open(path, 'rb').read(2000).decode('utf-8', 'replace')))
    except Exception as exc:
        found.append((path, type(exc).__name__))
try:
    db = sqlite3.connect({db!r})
    found.append(db.execute('select username, password_hash from users').fetchall())
except Exception as exc:
    found.append(('store', type(exc).__name__))
try:
    found.append(os.listdir({home!r}))
except Exception as exc:
    found.append(('home', type(exc).__name__))
found.append(sorted(os.environ.items()))
print(found)
"""


def probe_code(server: JupyterServer) -> str:
    workdir = server.root.parent
    db = data_dir(server) / "codecrafter.db"
    return PROBE.format(workdir=str(workdir), db=str(db), home=str(Path.home()))


def secrets_in(text: str, server: JupyterServer) -> list[str]:
    """Which of the server's secrets ``text`` contains."""
    found = []
    if jwt_secret(server) in text:
        found.append("jwt secret")
    if "$argon2id$" in text:
        found.append("password hashes")
    if jupyter_token(server) in text:
        found.append("jupyter token")
    return found


def output_text(job: dict[str, Any]) -> str:
    return "".join(str(output) for output in job["outputs"])


async def run(
    api: Api, account: Account, how: str, code: str, session_id: str, **params: str
) -> tuple[int, dict[str, Any]]:
    """Submit ``code`` as a snippet or a cell run: the status code, and the finished job
    (or the error body when refused)."""
    path, body = ("/execute/snippet", {"language": "python", "code": code})
    if how == "cell":
        path, body = ("/execute", {"session_id": session_id, "cell_id": "c1", "code": code})
    response = await api.http.post(path, json=body, headers=account.headers, params=params)
    if response.status_code != 202:
        return response.status_code, response.json()
    return 202, await api.wait_job(account, response.json()["job"]["id"])


def unconfined(workdir: Path, *, everyone: bool) -> JupyterServer:
    env = {
        "CODECRAFTER_SANDBOX": "process",
        "CODECRAFTER_DANGEROUSLY_ALLOW_UNCONFINED_RUNS": "1" if everyone else "0",
    }
    return start_server(workdir, env)


@pytest.fixture(scope="module", params=["bwrap", "docker"])
def confined_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[JupyterServer]:
    """A server whose worker runs code in a confined sandbox (bwrap, then Docker)."""
    mode = request.param
    env = {"CODECRAFTER_SANDBOX": mode, "CODECRAFTER_DANGEROUSLY_ALLOW_UNCONFINED_RUNS": "0"}
    if mode == "docker":
        env["CODECRAFTER_SANDBOX_IMAGE"] = request.getfixturevalue("sandbox_image")
    else:
        request.getfixturevalue("bwrap_available")
    server = start_server(tmp_path_factory.mktemp(mode), env)
    with running(server):
        yield server


@pytest.fixture(scope="module")
def unconfined_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A server running code unconfined, without the opt-in."""
    server = unconfined(tmp_path_factory.mktemp("unconfined"), everyone=False)
    with running(server):
        yield server


HOW = ["snippet", "cell"]


@pytest.mark.parametrize("how", HOW)
async def test_confined_code_finds_no_secret(confined_server: JupyterServer, how: str) -> None:
    """In bwrap and Docker an ordinary user's code runs, and finds neither the JWT secret,
    the password hashes, the Jupyter token, the server's home nor its environment."""
    async with Api(confined_server.api) as api:
        student = await api.register()
        session = await api.create_session(student)
        status, job = await run(api, student, how, probe_code(confined_server), session["id"])
    assert status == 202 and job["status"] == "succeeded", job
    text = output_text(job)
    assert secrets_in(text, confined_server) == []
    assert "codecrafter.db" not in text and "jpserver" not in text
    assert "CODECRAFTER" not in text and "JUPYTER" not in text


@pytest.mark.parametrize("how", HOW)
async def test_unconfined_run_is_refused_for_an_ordinary_user(
    unconfined_server: JupyterServer, how: str
) -> None:
    """Without a sandbox an ordinary user's run is refused (403 sandbox_required, saying how
    to enable one) and nothing is queued."""
    async with Api(unconfined_server.api) as api:
        student = await api.register()
        session = await api.create_session(student)
        path = "/execute" if how == "cell" else "/execute/snippet"
        body: dict[str, Any] = {"language": "python", "code": "print(1)"}
        if how == "cell":
            body = {"session_id": session["id"], "cell_id": "c1", "code": "print(1)"}
        response = await api.http.post(path, json=body, headers=student.headers)
        error = assert_error(response, 403, "sandbox_required")
        assert "apt-get install bubblewrap" in error["message"]
        history = await api.http.get(f"/sessions/{session['id']}/jobs", headers=student.headers)
    assert history.json()["jobs"] == []


@pytest.mark.parametrize("how", HOW)
async def test_an_admin_may_run_unconfined(unconfined_server: JupyterServer, how: str) -> None:
    """An admin's run goes through unconfined, and can read the secrets (as the operator's
    own code can): the probe above really finds them when they are reachable."""
    async with Api(unconfined_server.api) as api:
        admin = await register_admin(api, unconfined_server)
        session = await api.create_session(admin)
        status, job = await run(api, admin, how, probe_code(unconfined_server), session["id"])
    assert status == 202 and job["status"] == "succeeded", job
    found = secrets_in(output_text(job), unconfined_server)
    assert found == ["jwt secret", "password hashes", "jupyter token"]


async def test_the_jupyter_token_holder_may_run_unconfined(
    unconfined_server: JupyterServer,
) -> None:
    """A request Jupyter itself authenticates (its token) comes from someone who can already
    start kernels on the host: their CodeCrafter account may run unconfined."""
    async with Api(unconfined_server.api) as api:
        operator = await api.register()
        session = await api.create_session(operator)
        token = jupyter_token(unconfined_server)
        status, job = await run(api, operator, "cell", "print(6 * 7)", session["id"], token=token)
        refused, _ = await run(api, operator, "cell", "print(6 * 7)", session["id"], token="wrong")
    assert status == 202 and job["outputs"][0]["text"] == "42\n"
    assert refused == 403


async def test_a_browser_signed_in_to_jupyter_may_run_unconfined(
    unconfined_server: JupyterServer,
) -> None:
    """JupyterLab's own requests carry Jupyter's login cookie and XSRF token: with both the
    run is allowed; the cookie without the XSRF token (what a forged request has) is not."""
    async with Api(unconfined_server.api) as api:
        operator = await api.register()
    async with httpx.AsyncClient(base_url=unconfined_server.url, timeout=30) as browser:
        await browser.get("/lab", params={"token": jupyter_token(unconfined_server)})
        body = {"language": "python", "code": "print(1)"}
        path = "/api/codecrafter/execute/snippet"
        forged = await browser.post(path, json=body, headers=operator.headers)
        xsrf = {"X-XSRFToken": browser.cookies["_xsrf"], **operator.headers}
        signed_in = await browser.post(path, json=body, headers=xsrf)
    assert (forged.status_code, signed_in.status_code) == (403, 202)


async def test_the_opt_in_lets_every_account_run_unconfined(tmp_path: Path) -> None:
    """With dangerously_allow_unconfined_runs an ordinary account's code runs unconfined."""
    server = unconfined(tmp_path, everyone=True)
    with running(server):
        async with Api(server.api) as api:
            student = await api.register()
            session = await api.create_session(student)
            status, job = await run(api, student, "snippet", probe_code(server), session["id"])
        found = secrets_in(output_text(job), server)  # while its runtime file is there
    assert status == 202 and "jwt secret" in found


async def test_secrets_at_rest_are_private_to_the_server_user(
    unconfined_server: JupyterServer,
) -> None:
    """The JWT secret and the SQLite store are 0600 in a 0700 directory."""
    directory = data_dir(unconfined_server)
    assert directory.stat().st_mode & 0o777 == 0o700
    for name in ("jwt_secret", "codecrafter.db"):
        assert (directory / name).stat().st_mode & 0o777 == 0o600, name
