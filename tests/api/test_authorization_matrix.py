"""Who may call what: anonymous, the owner ("user"), another user, and an admin, against
every route in the URL table.

The routes come from ``url_table()``, not from a list kept here, so a new endpoint is
covered automatically: without an entry in EXPECTATIONS its test fails and says what to
add. "user" owns the private session and the job the entries refer to; "other" is a
plain user with no part in them; "admin" is a platform admin with no part in them either
(platform admins act as session admins: they may view, update and manage any session,
but only the owner deletes it).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from jupyter_codecrafter.admin_cli import main as admin_cli
from jupyter_codecrafter.api import url_table
from jupyter_codecrafter.api.openapi import HTTP_METHODS, openapi_path
from jupyter_codecrafter.api.operation import operation_of
from jupyter_codecrafter.constants import API_PREFIX
from tests.api.auth_helpers import data_dir
from tests.server import JupyterServer

ROLES = ("anonymous", "user", "other", "admin")
PASSWORD = "matrix password"
Status = int | frozenset[int]


@dataclass
class Person:
    id: str
    username: str
    token: str


@dataclass
class World:
    """The accounts and resources the expectations refer to, on the shared server."""

    http: httpx.Client
    people: dict[str, Person] = field(default_factory=dict)
    session_id: str = ""
    job_id: str = ""
    bystander: Person | None = None  # whose role or membership the calls change

    @property
    def target(self) -> Person:
        assert self.bystander is not None
        return self.bystander

    def call(self, role: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {}
        if role != "anonymous":
            headers["Authorization"] = f"Bearer {self.people[role].token}"
        return self.http.request(method, path, headers=headers, **kwargs)

    def ok(self, role: str, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.call(role, method, path, **kwargs)
        assert response.status_code < 300, response.text
        return response.json() if response.content else {}

    def register(self) -> Person:
        name = f"m{uuid.uuid4().hex[:10]}"
        body = {"username": name, "email": f"{name}@example.org", "password": PASSWORD}
        created = self.ok("anonymous", "POST", "/auth/register", json=body)
        return Person(created["user"]["id"], name, created["access_token"])

    def new_session(self) -> str:
        created = self.ok("user", "POST", "/sessions", json={"title": "Matrix"})
        return str(created["session"]["id"])

    def new_invite(self, session_id: str = "") -> str:
        path = f"/sessions/{session_id or self.session_id}/invites"
        return str(self.ok("user", "POST", path, json={})["code"])

    def refresh_token(self) -> str:
        body = {"login": self.target.username, "password": PASSWORD}
        return str(self.ok("anonymous", "POST", "/auth/login", json=body)["refresh_token"])

    def add_collaborator(self) -> str:
        path = f"/sessions/{self.session_id}/collaborators/{self.target.id}"
        self.ok("user", "PUT", path, json={"role": "read"})
        return self.target.id


@dataclass(frozen=True)
class Expect:
    """Expected status per role, and how to build the request (path values, JSON body)."""

    anonymous: Status
    user: Status
    other: Status
    admin: Status
    params: Callable[[World], dict[str, str]] = lambda world: {}
    body: Callable[[World, str], Any] | None = None

    def status(self, role: str) -> Status:
        return getattr(self, role)  # type: ignore[no-any-return]


def everyone(status: Status, **kwargs: Any) -> Expect:
    return Expect(status, status, status, status, **kwargs)


def signed_in(status: Status, **kwargs: Any) -> Expect:
    return Expect(401, status, status, status, **kwargs)


def owner_and_admin(user: Status, admin: Status, **kwargs: Any) -> Expect:
    """A private session's resource: strangers are told it does not exist."""
    return Expect(401, user, 404, admin, **kwargs)


def admin_only(status: Status, **kwargs: Any) -> Expect:
    return Expect(401, 403, 403, status, **kwargs)


def session(world: World) -> dict[str, str]:
    return {"session_id": world.session_id}


def fresh_session(world: World) -> dict[str, str]:
    return {"session_id": world.new_session()}


def new_name(world: World, role: str) -> dict[str, str]:
    name = f"m{uuid.uuid4().hex[:10]}"
    return {"username": name, "email": f"{name}@example.org", "password": PASSWORD}


# Keyed by "METHOD /path" as the OpenAPI document names operations. Non-operation routes
# (the room WebSocket, the JSON 404 fallback) are keyed by "WS /path" and "ANY /path".
EXPECTATIONS: dict[str, Expect] = {
    "POST /auth/register": everyone(201, body=new_name),
    "POST /auth/login": everyone(
        200, body=lambda w, r: {"login": w.target.username, "password": PASSWORD}
    ),
    "POST /auth/refresh": everyone(200, body=lambda w, r: {"refresh_token": w.refresh_token()}),
    "POST /auth/logout": everyone(204, body=lambda w, r: {"refresh_token": w.refresh_token()}),
    "POST /auth/logout-all": signed_in(200),
    "GET /auth/profile": signed_in(200),
    "PUT /auth/profile": signed_in(200, body=lambda w, r: {"display_name": "Matrix"}),
    "POST /auth/password": signed_in(
        200, body=lambda w, r: {"current_password": PASSWORD, "new_password": PASSWORD}
    ),
    "GET /sessions": signed_in(200),
    "POST /sessions": signed_in(201, body=lambda w, r: {"title": "Mine"}),
    "GET /sessions/{session_id}": owner_and_admin(200, 200, params=session),
    "PUT /sessions/{session_id}": owner_and_admin(
        200, 200, params=session, body=lambda w, r: {"title": "Renamed"}
    ),
    "DELETE /sessions/{session_id}": owner_and_admin(204, 403, params=fresh_session),
    "POST /sessions/{session_id}/fork": owner_and_admin(
        201, 201, params=session, body=lambda w, r: {}
    ),
    "GET /sessions/{session_id}/export": owner_and_admin(200, 200, params=session),
    "GET /sessions/{session_id}/jobs": owner_and_admin(200, 200, params=session),
    "GET /sessions/{session_id}/invites": owner_and_admin(200, 200, params=session),
    "POST /sessions/{session_id}/invites": owner_and_admin(
        201, 201, params=session, body=lambda w, r: {"role": "read"}
    ),
    "DELETE /sessions/{session_id}/invites/{code}": owner_and_admin(
        204, 204, params=lambda w: {**session(w), "code": w.new_invite()}
    ),
    "POST /sessions/join": signed_in(  # to a session of its own: joining changes who is in
        200, body=lambda w, r: {"code": w.new_invite(w.new_session())}
    ),
    "GET /sessions/{session_id}/collaborators": owner_and_admin(200, 200, params=session),
    "PUT /sessions/{session_id}/collaborators/{user_ref}": owner_and_admin(
        200,
        200,
        params=lambda w: {**session(w), "user_ref": w.target.id},
        body=lambda w, r: {"role": "write"},
    ),
    "DELETE /sessions/{session_id}/collaborators/{user_ref}": owner_and_admin(
        204, 204, params=lambda w: {**session(w), "user_ref": w.add_collaborator()}
    ),
    "POST /execute": owner_and_admin(
        202, 202, body=lambda w, r: {"session_id": w.session_id, "cell_id": "c1", "code": "1"}
    ),
    "POST /execute/snippet": signed_in(
        202, body=lambda w, r: {"language": "python", "code": "print(1)"}
    ),
    "GET /execute/languages": signed_in(200),
    "GET /execute/status/{job_id}": owner_and_admin(
        200, 200, params=lambda w: {"job_id": w.job_id}
    ),
    # A finished job: everyone allowed to cancel it learns it has already finished.
    "POST /execute/{job_id}/cancel": owner_and_admin(
        409, 409, params=lambda w: {"job_id": w.job_id}
    ),
    "GET /sessions/{session_id}/kernel": owner_and_admin(200, 200, params=session),
    # A session whose kernel never started: writers are told there is none.
    "POST /sessions/{session_id}/kernel/interrupt": owner_and_admin(409, 409, params=fresh_session),
    "POST /sessions/{session_id}/kernel/restart": owner_and_admin(409, 409, params=fresh_session),
    "GET /sessions/{session_id}/presence": owner_and_admin(200, 200, params=session),
    "PUT /admin/users/{user_id}/role": admin_only(
        200,
        params=lambda w: {"user_id": w.target.id},
        body=lambda w, r: {"role": "user"},
    ),
    "GET /admin/activity": admin_only(200),
    "GET /health": everyone(200),
    "GET /openapi.json": everyone(200),
    # The room WebSocket: 101 is an open socket; refusals happen before the upgrade.
    "WS /rooms/{session_id}": owner_and_admin(101, 101, params=session),
    "WS /sessions/{session_id}/kernel/channels": owner_and_admin(101, 101, params=session),
    "WS /sessions/{session_id}/kernel/api/kernels/{kernel_id}/channels": owner_and_admin(
        101, 101, params=lambda w: {"session_id": w.session_id, "kernel_id": "k1"}
    ),
    "ANY /{path}": everyone(404, params=lambda w: {"path": "no/such/endpoint"}),
}


def routes() -> list[tuple[str, str]]:
    """("METHOD /path", kind) of every route in the URL table."""
    found = []
    prefix = "/" + API_PREFIX
    for pattern, handler in url_table():
        relative = pattern.removeprefix(prefix)
        methods = [m for m in HTTP_METHODS if operation_of(getattr(handler, m, None))]
        if methods:
            path, _ = openapi_path(relative)
            found += [(f"{m.upper()} {path}", "http") for m in methods]
        elif relative == "/.*":
            found.append(("ANY /{path}", "fallback"))
        else:
            path, _ = openapi_path(relative)
            found.append((f"WS {path}", "websocket"))
    return found


@pytest.fixture(scope="module")
def world(embedded_server: JupyterServer) -> Iterator[World]:
    with httpx.Client(base_url=embedded_server.api, timeout=60) as http:
        world = World(http)
        for role in ("user", "other", "admin"):
            world.people[role] = world.register()
        world.bystander = world.register()
        db = data_dir(embedded_server) / "codecrafter.db"
        config = data_dir(embedded_server).parent / "matrix_admin.py"
        config.write_text(f"c.CodeCrafter.store_url = 'sqlite:///{db}'\n")
        admin_cli(["--config", str(config), "set-role", world.people["admin"].username, "admin"])
        world.session_id = world.new_session()
        job = world.ok(
            "user",
            "POST",
            "/execute",
            json={"session_id": world.session_id, "cell_id": "c0", "code": "1"},
        )
        world.job_id = job["job"]["id"]
        wait_until_final(http, world.people["user"].token, world.job_id)
        yield world


def wait_until_final(http: httpx.Client, token: str, job_id: str) -> None:
    """The world's job has finished (cancelling it is then a conflict, for everyone)."""
    headers = {"Authorization": f"Bearer {token}"}
    for _ in range(600):
        job = http.get(f"/execute/status/{job_id}", headers=headers).json()["job"]
        if job["status"] not in ("queued", "running"):
            return
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish")


def call(world: World, server: JupyterServer, key: str, kind: str, role: str) -> int:
    expect = EXPECTATIONS[key]
    method, template = key.split(" ", 1)
    path = template.format(**expect.params(world))
    if kind == "websocket":
        return websocket_status(world, server, path, role)
    if kind == "fallback":
        return world.call(role, "GET", path).status_code
    kwargs = {} if expect.body is None else {"json": expect.body(world, role)}
    return world.call(role, method, path, **kwargs).status_code


def websocket_status(world: World, server: JupyterServer, path: str, role: str) -> int:
    query = "" if role == "anonymous" else f"?token={world.people[role].token}"
    url = f"ws://127.0.0.1:{server.port}/{API_PREFIX}{path}{query}"
    try:
        with connect(url, open_timeout=30):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


@pytest.mark.parametrize(("key", "kind"), routes(), ids=[key for key, _ in routes()])
def test_authorization_matrix(
    world: World, embedded_server: JupyterServer, key: str, kind: str
) -> None:
    """Each role gets the expected status from each endpoint."""
    assert key in EXPECTATIONS, (
        f"{key} has no authorization expectation: add an entry for it to EXPECTATIONS in "
        "tests/api/test_authorization_matrix.py (statuses for anonymous, user, other, admin)."
    )
    expect = EXPECTATIONS[key]
    actual = {role: call(world, embedded_server, key, kind, role) for role in ROLES}
    wanted = {role: expect.status(role) for role in ROLES}
    mismatched = {
        role: (actual[role], wanted[role])
        for role in ROLES
        if actual[role]
        not in (wanted[role] if isinstance(wanted[role], frozenset) else {wanted[role]})
    }
    assert not mismatched, f"{key}: role -> (got, expected): {mismatched}"


def test_every_expectation_is_a_route() -> None:
    """No stale entries: every expectation names a route that exists."""
    assert set(EXPECTATIONS) == {key for key, _ in routes()}
