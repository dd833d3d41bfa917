"""The demo server (demo_username, as the Binder demo runs): whoever Jupyter signed in is
signed in to CodeCrafter as the demo user, who owns a welcome session that runs; servers
without the setting sign nobody in that way."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.api.auth_helpers import jupyter_token
from tests.client import Account, Api
from tests.ops.conftest import REPO
from tests.server import JupyterServer, running, start_server

DEMO = {
    "CODECRAFTER_DEMO_USERNAME": "demo",
    "CODECRAFTER_DEMO_NOTEBOOK": str(REPO / "binder" / "welcome.ipynb"),
}
WELCOME = "Welcome to CodeCrafter"


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    server = start_server(tmp_path_factory.mktemp("demo"), DEMO)
    with running(server):
        yield server


async def demo_sign_in(server: JupyterServer, api: Api) -> Account:
    """What the panel does at start-up in a browser Jupyter signed in: refresh with {}."""
    headers = {"Authorization": f"token {jupyter_token(server)}"}
    response = await api.http.post("/auth/refresh", json={}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] is None  # it went into the HttpOnly cookie
    return Account(body["user"], body["access_token"], "", "")


async def test_jupyters_user_is_the_demo_user_with_a_welcome_session_that_runs(
    demo_server: JupyterServer,
) -> None:
    """Signed in to Jupyter, the visitor gets the demo account, owns the welcome session,
    and a cell of it runs."""
    async with Api(demo_server.api) as api:
        account = await demo_sign_in(demo_server, api)
        assert account.user["username"] == "demo"
        listed = await api.http.get("/sessions?scope=mine", headers=account.headers)
        [welcome] = [s for s in listed.json()["sessions"] if s["title"] == WELCOME]
        job = await api.run_cell(
            account, welcome["id"], "hello", "print('Hello from a CodeCrafter worker!')"
        )
        done = await api.wait_job(account, job["id"])
    assert done["status"] == "succeeded"
    assert done["outputs"][0]["text"] == "Hello from a CodeCrafter worker!\n"


async def test_lab_opens_the_welcome_session_first(demo_server: JupyterServer) -> None:
    """JupyterLab's default workspace opens the welcome session from the CodeCrafter drive."""
    async with Api(demo_server.api) as api:
        account = await demo_sign_in(demo_server, api)
        listed = await api.http.get("/sessions?scope=mine", headers=account.headers)
    [welcome] = [s for s in listed.json()["sessions"] if s["title"] == WELCOME]
    headers = {"Authorization": f"token {jupyter_token(demo_server)}"}
    async with httpx.AsyncClient() as http:
        url = f"{demo_server.url}/lab/api/workspaces/default"
        workspace = (await http.get(url, headers=headers)).json()
    path = f"CodeCrafter:{welcome['id']}/{WELCOME}.ipynb"
    assert workspace["data"][f"notebook:{path}"]["data"]["path"] == path


async def test_without_jupyters_sign_in_nobody_is_the_demo_user(demo_server: JupyterServer) -> None:
    """A request Jupyter did not authenticate gets 401, not the demo account."""
    async with Api(demo_server.api) as api:
        response = await api.http.post("/auth/refresh", json={})
    assert response.status_code == 401


async def test_a_server_without_demo_mode_signs_nobody_in_from_jupyter(
    embedded_server: JupyterServer,
) -> None:
    """Holding Jupyter's token is not a CodeCrafter sign-in unless the demo is on."""
    async with Api(embedded_server.api) as api:
        headers = {"Authorization": f"token {jupyter_token(embedded_server)}"}
        response = await api.http.post("/auth/refresh", json={}, headers=headers)
    assert response.status_code == 401
