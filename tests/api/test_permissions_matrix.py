"""The permission matrix: owner, admin, writer, reader and stranger against every session
endpoint and every room action, each expectation read from one table."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from jupyter_codecrafter.store.records import SessionKind
from tests.client import Account, Api
from tests.notebooks import code_cell, ipynb
from tests.server import JupyterServer
from tests.sessions.api_helpers import ROLES, Classroom, classroom
from tests.yclient import YClient

VIEW = (200, 200, 200, 200, 404)  # every role reads; a stranger is told nothing exists
MANAGE = (200, 200, 403, 403, 404)

# name: (method, path, JSON body, statuses for owner, admin, write, read, stranger)
ENDPOINTS: dict[str, tuple[str, str, Any, tuple[int, ...]]] = {
    "read": ("GET", "/sessions/{sid}", None, VIEW),
    "read content": ("GET", "/sessions/{sid}?include=content", None, VIEW),
    "update": ("PUT", "/sessions/{sid}", {"title": "Renamed"}, MANAGE),
    "delete": ("DELETE", "/sessions/{sid}", None, (204, 403, 403, 403, 404)),
    "fork": ("POST", "/sessions/{sid}/fork", {}, (201, 201, 201, 201, 404)),
    "export": ("GET", "/sessions/{sid}/export", None, VIEW),
    "list collaborators": ("GET", "/sessions/{sid}/collaborators", None, VIEW),
    "set collaborator": ("PUT", "/sessions/{sid}/collaborators/{other}", {"role": "write"}, MANAGE),
    "remove collaborator": (
        "DELETE",
        "/sessions/{sid}/collaborators/{other}",
        None,
        (204, 204, 403, 403, 404),
    ),
    "list invites": ("GET", "/sessions/{sid}/invites", None, MANAGE),
    "create invite": (
        "POST",
        "/sessions/{sid}/invites",
        {"role": "read"},
        (201, 201, 403, 403, 404),
    ),
    "revoke invite": ("DELETE", "/sessions/{sid}/invites/{code}", None, (204, 204, 403, 403, 404)),
    "run in session": (
        "POST",
        "/execute/snippet",
        {"language": "python", "code": "print(1)", "session_id": "{sid}"},
        (202, 202, 202, 403, 404),
    ),
    "job status": ("GET", "/execute/status/{job}", None, VIEW),
    "job history": ("GET", "/sessions/{sid}/jobs", None, VIEW),
}

# role: (may open the room, edits reach the others)
ROOM: dict[str, tuple[bool, bool]] = {
    "owner": (True, True),
    "admin": (True, True),
    "write": (True, True),
    "read": (True, False),
    "stranger": (False, False),
}

CASES = [pytest.param(name, role, id=f"{name}-{role}") for name in ENDPOINTS for role in ROLES]


@pytest.fixture(scope="module")
def people(embedded_server: JupyterServer) -> dict[str, Account]:
    """One account per role, plus "other", a reader whose role the managers change."""
    names = [*ROLES, "other"]
    with httpx.Client(base_url=embedded_server.api, timeout=30) as http:
        accounts = {}
        for name in names:
            username = f"m{name}{uuid.uuid4().hex[:8]}"
            response = http.post(
                "/auth/register",
                json={
                    "username": username,
                    "email": f"{username}@example.org",
                    "password": "correct horse",
                },
            )
            assert response.status_code == 201, response.text
            body = response.json()
            accounts[name] = Account(
                body["user"], body["access_token"], body["refresh_token"], "correct horse"
            )
    return accounts


async def setup(
    api: Api, people: dict[str, Account], *, job: bool, public: bool = False
) -> tuple[Classroom, dict[str, str]]:
    """A fresh session with every role granted, "other" a reader, an invite, maybe a job."""
    content = ipynb(code_cell("c1", "x = 1"))
    room = await classroom(api, dict(people), content=content, is_public=public)
    owner = room.owner
    other = people["other"]
    response = await api.http.put(
        f"/sessions/{room.session_id}/collaborators/{other.user['id']}",
        json={"role": "read"},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    invite = await api.http.post(
        f"/sessions/{room.session_id}/invites", json={"role": "read"}, headers=owner.headers
    )
    values = {"sid": room.session_id, "other": other.user["id"], "code": invite.json()["code"]}
    if job:
        run = await api.http.post(
            "/execute/snippet",
            headers=owner.headers,
            json={"language": "python", "code": "print(1)", "session_id": room.session_id},
        )
        assert run.status_code == 202, run.text
        values["job"] = run.json()["job"]["id"]
    return room, values


def fill(template: Any, values: dict[str, str]) -> Any:
    """The path or body with {sid}, {other}, {code} and {job} put in."""
    if isinstance(template, str):
        return template.format(**values)
    if isinstance(template, dict):
        return {key: fill(value, values) for key, value in template.items()}
    return template


@pytest.mark.parametrize(("endpoint", "role"), CASES)
async def test_endpoint(api: Api, people: dict[str, Account], endpoint: str, role: str) -> None:
    """Each role gets exactly the status the table gives for this endpoint."""
    expected = ENDPOINTS[endpoint][3][ROLES.index(role)]
    await check_endpoint(api, people, endpoint, role, expected, public=False)


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
async def test_endpoint_public_visitor(api: Api, people: dict[str, Account], endpoint: str) -> None:
    """On a public session, anyone signed in gets what a reader gets, nothing more."""
    expected = ENDPOINTS[endpoint][3][ROLES.index("read")]
    await check_endpoint(api, people, endpoint, "stranger", expected, public=True)


async def check_endpoint(
    api: Api, people: dict[str, Account], endpoint: str, role: str, expected: int, *, public: bool
) -> None:
    method, path, body, _ = ENDPOINTS[endpoint]
    room, values = await setup(api, people, job="{job}" in path, public=public)
    response = await api.http.request(
        method, fill(path, values), json=fill(body, values), headers=people[role].headers
    )
    assert response.status_code == expected, response.text
    if expected >= 400:
        assert response.json()["error"]["code"] == {403: "forbidden", 404: "not_found"}[expected]
        after = await api.http.get(
            f"/sessions/{room.session_id}?include=content", headers=room.owner.headers
        )
        assert after.status_code == 200  # a refused request changed nothing visible
        assert after.json()["session"]["title"] == room.session["title"]
        roles = {c["user"]["id"]: c["role"] for c in after.json()["collaborators"]}
        assert roles[people["other"].user["id"]] == "read"


async def test_cell_runs_are_refused_to_readers_and_strangers(
    api: Api, people: dict[str, Account]
) -> None:
    """Running a cell needs write: a reader is refused (403), a stranger sees nothing (404)."""
    room, _ = await setup(api, people, job=False)
    run = {"session_id": room.session_id, "cell_id": "c1", "code": "x = 1"}
    for role, status in (("read", 403), ("stranger", 404)):
        response = await api.http.post("/execute", json=run, headers=people[role].headers)
        assert response.status_code == status, response.text


@pytest.mark.parametrize(
    ("role", "public"), [*((role, False) for role in ROLES), ("stranger", True)]
)
async def test_room(
    api: Api,
    embedded_server: JupyterServer,
    people: dict[str, Account],
    role: str,
    public: bool,
) -> None:
    """Opening the room, editing, and awareness: each role as the table says (a visitor of a
    public session as a reader)."""
    may_open, may_edit = ROOM["read" if public else role]
    room, _ = await setup(api, people, job=False, public=public)
    url = embedded_server.room_url(room.session_id, people[role].access_token)
    watcher_url = embedded_server.room_url(room.session_id, room.owner.access_token)
    if not may_open:
        with pytest.raises(InvalidStatus) as refused:
            async with YClient.connect(url, kind=SessionKind.NOTEBOOK):
                pass
        assert refused.value.response.status_code == 404
        return
    async with YClient.connect(watcher_url) as watcher, YClient.connect(url) as client:
        await check_awareness(client, watcher, people[role])
        client.notebook.ycells[0]["source"].insert(0, "# edited\n")
        if may_edit:
            await watcher.wait_for(lambda: source(watcher) == "# edited\nx = 1")
        else:
            await client.wait_for(
                lambda: [m["type"] for m in client.control_messages] == ["read_only"]
            )
            watcher.notebook.ycells[0]["source"].insert(len("x = 1"), "0")  # a later edit
            await client.wait_for(lambda: source(client).endswith("x = 10"))
            assert source(watcher) == "x = 10"
    content = await api.http.get(
        f"/sessions/{room.session_id}?include=content", headers=room.owner.headers
    )
    expected = "# edited\nx = 1" if may_edit else "x = 10"
    assert content.json()["content"]["cells"][0]["source"] == expected


def source(client: YClient) -> str:
    return str(client.notebook.get()["cells"][0]["source"])


async def check_awareness(client: YClient, watcher: YClient, account: Account) -> None:
    """Any role shares its cursor; its identity is the server's, not what it claims."""
    client.set_awareness(
        {
            "user": {"name": "Someone Else", "id": "forged", "color": "#f00"},
            "cursor": {"cell": "c1", "offset": 3},
        }
    )

    def seen() -> dict[str, Any] | None:
        for state in watcher.peers().values():
            if state.get("cursor") == {"cell": "c1", "offset": 3}:
                return state
        return None

    await watcher.wait_for(lambda: seen() is not None)
    state = seen()
    assert state is not None
    assert state["user"]["id"] == account.user["id"]
    assert state["user"]["username"] == account.user["username"]
    assert state["user"]["color"] == "#f00"
