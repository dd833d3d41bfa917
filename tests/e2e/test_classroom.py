"""The classroom across two server instances that share Redis and a store (a SQLite file, or
the MongoDB stand-in): what a teacher changes through one instance applies at once through
the other, to REST checks and to live room connections alike."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import nbformat
import pytest

from jupyter_codecrafter.rooms.protocol import CLOSE_DELETED, CLOSE_REMOVED
from tests.client import Account, Api, assert_error
from tests.namespaces import new_namespace
from tests.notebooks import code_cell, ipynb
from tests.server import JupyterServer, running, start_server
from tests.sessions.api_helpers import grant
from tests.yclient import YClient


@dataclass
class Pair:
    """Two instances of one deployment, and an API client for each."""

    first: JupyterServer
    second: JupyterServer


@pytest.fixture(scope="module", params=["sqlite", "mongo"])
def pair(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_url: str
) -> Iterator[Pair]:
    """Two servers with the in-process queue and the process sandbox, sharing Redis (for
    rooms and caches) and one store."""
    workdir = tmp_path_factory.mktemp(f"classroom-{request.param}")
    if request.param == "sqlite":
        store_url = f"sqlite:///{workdir / 'shared' / 'codecrafter.db'}"
    else:
        base = str(request.getfixturevalue("mongo_server_url")).rstrip("/")
        store_url = f"{base}/cc_classroom_{uuid.uuid4().hex[:8]}"
    env = {
        "CODECRAFTER_REDIS_URL": redis_url,
        "CODECRAFTER_STORE_URL": store_url,
        "CODECRAFTER_JWT_SECRET": secrets.token_urlsafe(48),
        "CODECRAFTER_NAMESPACE": new_namespace(),
        "CODECRAFTER_SANDBOX": "process",
    }
    first = start_server(workdir / "server1", env)
    with running(first):
        second = start_server(workdir / "server2", env)
        with running(second):
            yield Pair(first, second)


@pytest.fixture
async def apis(pair: Pair) -> AsyncIterator[tuple[Api, Api]]:
    one, two = Api(pair.first.api), Api(pair.second.api)
    yield one, two
    await one.aclose()
    await two.aclose()


async def role_on(api: Api, account: Account, session_id: str) -> str | int:
    """The account's role as the instance behind ``api`` sees it, or the error status."""
    response = await api.http.get(f"/sessions/{session_id}", headers=account.headers)
    if response.status_code != 200:
        return response.status_code
    return str(response.json()["session"]["role"])


async def test_role_change_on_one_instance_is_seen_by_the_other_at_once(
    apis: tuple[Api, Api],
) -> None:
    """Each change made through instance 1 holds on instance 2's very next request."""
    one, two = apis
    teacher, student = await one.register(), await one.register()
    session = await one.create_session(teacher)
    sid = session["id"]
    assert await role_on(two, student, sid) == 404  # now cached as "no role" on the shared cache
    for role in ("write", "read", "admin"):
        await grant(one, teacher, sid, student, role)
        assert await role_on(two, student, sid) == role
    response = await one.http.delete(
        f"/sessions/{sid}/collaborators/{student.user['id']}", headers=teacher.headers
    )
    assert response.status_code == 204
    assert await role_on(two, student, sid) == 404
    update = await one.http.put(
        f"/sessions/{sid}", json={"is_public": True}, headers=teacher.headers
    )
    assert update.status_code == 200
    assert await role_on(two, student, sid) == "read"


async def test_live_connections_on_the_other_instance_follow_role_changes(
    pair: Pair, apis: tuple[Api, Api]
) -> None:
    """A student connected to instance 2 is made read-only, then removed, by the teacher
    acting through instance 1; their edits in between reach nobody."""
    one, _ = apis
    teacher, student = await one.register(), await one.register()
    session = await one.create_session(teacher, content=ipynb(code_cell("c1", "x = 1")))
    sid = session["id"]
    await grant(one, teacher, sid, student, "write")
    async with (
        YClient.connect(pair.first.room_url(sid, teacher.access_token)) as desk,
        YClient.connect(pair.second.room_url(sid, student.access_token)) as laptop,
    ):
        laptop.notebook.ycells[0]["source"].insert(0, "a")
        await desk.wait_for(lambda: source(desk) == "ax = 1")

        await grant(one, teacher, sid, student, "read")
        await laptop.wait_for(lambda: {"type": "role", "role": "read"} in laptop.control_messages)
        laptop.notebook.ycells[0]["source"].insert(0, "b")
        await laptop.wait_for(
            lambda: any(m["type"] == "read_only" for m in laptop.control_messages)
        )
        desk.notebook.ycells[0]["source"].insert(len("ax = 1"), "0")
        await laptop.wait_for(lambda: source(laptop).endswith("ax = 10"))
        assert source(desk) == "ax = 10"

        response = await one.http.delete(
            f"/sessions/{sid}/collaborators/{student.user['id']}", headers=teacher.headers
        )
        assert response.status_code == 204
        assert await laptop.closed() == CLOSE_REMOVED
        assert not desk.is_closed


async def test_delete_on_one_instance_closes_rooms_on_both(
    pair: Pair, apis: tuple[Api, Api]
) -> None:
    """Deleting through instance 1 closes connections on both instances with 4404."""
    one, two = apis
    teacher, student = await one.register(), await one.register()
    session = await one.create_session(teacher)
    await grant(one, teacher, session["id"], student, "read")
    async with (
        YClient.connect(pair.first.room_url(session["id"], teacher.access_token)) as a,
        YClient.connect(pair.second.room_url(session["id"], student.access_token)) as b,
    ):
        response = await one.http.delete(f"/sessions/{session['id']}", headers=teacher.headers)
        assert response.status_code == 204
        assert await a.closed() == CLOSE_DELETED
        assert await b.closed() == CLOSE_DELETED
    assert_error(
        await two.http.get(f"/sessions/{session['id']}", headers=teacher.headers), 404, "not_found"
    )


async def test_classroom_flow(pair: Pair, apis: tuple[Api, Api]) -> None:
    """The teacher creates from a notebook and shares a read link and a write link; students
    join through the other instance; one edits live; the reader forks their own copy."""
    one, two = apis
    teacher, reader, helper = await one.register(), await two.register(), await two.register()
    lesson = nbformat.v4.new_notebook()
    lesson.cells = [nbformat.v4.new_markdown_cell("# Loops"), nbformat.v4.new_code_cell("n = 3")]
    session = await one.create_session(teacher, title="Loops", content=dict(lesson))
    sid = session["id"]
    links = {}
    for role in ("read", "write"):
        response = await one.http.post(
            f"/sessions/{sid}/invites",
            json={"role": role, "expires_in": 3600},
            headers=teacher.headers,
        )
        assert response.status_code == 201, response.text
        links[role] = response.json()["code"]
    for account, role in ((reader, "read"), (helper, "write")):
        joined = await two.http.post(
            "/sessions/join", json={"code": links[role]}, headers=account.headers
        )
        assert joined.status_code == 200, joined.text
        assert joined.json()["role"] == role

    async with (
        YClient.connect(pair.first.room_url(sid, teacher.access_token)) as board,
        YClient.connect(pair.second.room_url(sid, helper.access_token)) as pen,
        YClient.connect(pair.second.room_url(sid, reader.access_token)) as eyes,
    ):
        pen.notebook.ycells[1]["source"].insert(len("n = 3"), "\nfor i in range(n): print(i)")
        done = "n = 3\nfor i in range(n): print(i)"
        await board.wait_for(lambda: board.notebook.get()["cells"][1]["source"] == done)
        await eyes.wait_for(lambda: eyes.notebook.get()["cells"][1]["source"] == done)
        fork = await two.http.post(f"/sessions/{sid}/fork", json={}, headers=reader.headers)
    assert fork.status_code == 201, fork.text
    mine = fork.json()["session"]
    assert (mine["owner"], mine["title"], mine["role"]) == (
        reader.user["id"],
        "Loops (copy)",
        "owner",
    )
    exported = await one.http.get(f"/sessions/{mine['id']}/export", headers=reader.headers)
    notebook = nbformat.reads(exported.text, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert [cell.source for cell in notebook.cells] == ["# Loops", done]
    assert_error(
        await one.http.get(f"/sessions/{mine['id']}", headers=teacher.headers), 404, "not_found"
    )


def source(client: YClient) -> str:
    return str(client.notebook.get()["cells"][0]["source"])
