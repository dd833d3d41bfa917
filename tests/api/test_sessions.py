"""The session endpoints over HTTP: create, list, read, update, delete, fork, export."""

from __future__ import annotations

import asyncio
import json
from email.message import Message
from typing import Any

import nbformat
import pytest

from tests.client import Account, Api, assert_error
from tests.notebooks import code_cell, ipynb
from tests.sessions.api_helpers import classroom, grant


async def get_session(api: Api, account: Account, session_id: str, **params: str) -> Any:
    response = await api.http.get(f"/sessions/{session_id}", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    return response.json()


async def test_create_with_notebook_content(api: Api) -> None:
    """A notebook uploaded at creation is the session's document, upgraded to nbformat 4.5."""
    owner = await api.register()
    legacy = ipynb({**code_cell("c1", ""), "source": ["x = 1\n", "y = 2"]})
    legacy["nbformat_minor"] = 4
    del legacy["cells"][0]["id"]
    session = await api.create_session(owner, title="Week 1", content=legacy, metadata={"w": 1})
    assert (session["title"], session["kind"], session["role"]) == ("Week 1", "notebook", "owner")
    assert session["metadata"] == {"w": 1}
    body = await get_session(api, owner, session["id"], include="content")
    content = body["content"]
    assert content["nbformat_minor"] == 5
    assert [cell["source"] for cell in content["cells"]] == ["x = 1\ny = 2"]
    nbformat.validate(nbformat.from_dict(content))


async def test_create_file_with_text(api: Api) -> None:
    """A file session holds the text it was created with."""
    owner = await api.register()
    session = await api.create_session(owner, title="main.py", kind="file", content="print(1)\n")
    body = await get_session(api, owner, session["id"], include="content")
    assert body["content"] == "print(1)\n"
    assert body["session"]["kind"] == "file"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (
            {"content": {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{}]}},
            "content",
        ),
        ({"kind": "file", "content": {"cells": []}}, "content"),
        ({"kind": "notebook", "content": "just text"}, "content"),
        ({"kind": "spreadsheet"}, "kind"),
        ({"language": "Not A Language"}, "language"),
        ({"title": ""}, "title"),
        ({"owner": "someone-else"}, "owner"),
    ],
)
async def test_invalid_create_is_422_and_creates_nothing(
    api: Api, payload: dict[str, Any], field: str
) -> None:
    """Bad fields or content answer 422 naming the field, and no session is created."""
    owner = await api.register()
    response = await api.http.post(
        "/sessions", json={"title": "T", **payload}, headers=owner.headers
    )
    error = assert_error(response, 422, "validation_error")
    assert any(detail["field"] == field for detail in error["details"]), error
    listed = await api.http.get("/sessions", headers=owner.headers)
    assert listed.json()["sessions"] == []


async def test_oversized_content_is_413(api: Api) -> None:
    """Content beyond max_content_bytes (5 MB by default) answers 413."""
    owner = await api.register()
    response = await api.http.post(
        "/sessions",
        json={"title": "Big", "kind": "file", "content": "x" * 5_100_000},
        headers=owner.headers,
    )
    assert_error(response, 413, "payload_too_large")


async def test_read_shows_collaborators_and_role(api: Api) -> None:
    """Reading a session shows metadata, the caller's role and everyone with a role."""
    room = await classroom(api)
    body = await get_session(api, room.accounts["read"], room.session_id)
    assert body["session"]["role"] == "read"
    assert body["content"] is None
    listed = [(c["user"]["id"], c["role"]) for c in body["collaborators"]]
    expected = [
        (room.accounts[role].user["id"], role) for role in ("owner", "admin", "write", "read")
    ]
    assert sorted(listed) == sorted(expected)
    assert listed[0] == expected[0]
    summary = body["collaborators"][0]["user"]
    assert set(summary) == {"id", "username", "display_name"}  # no email


async def test_unknown_include_is_422(api: Api) -> None:
    """Only ?include=content is understood."""
    owner = await api.register()
    session = await api.create_session(owner)
    response = await api.http.get(
        f"/sessions/{session['id']}", params={"include": "secrets"}, headers=owner.headers
    )
    assert_error(response, 422, "validation_error")


async def test_list_pages_newest_first_with_roles(api: Api) -> None:
    """Paging with a small limit visits every session once, newest first."""
    owner = await api.register()
    created = [await api.create_session(owner, title=f"S{i}") for i in range(5)]
    seen: list[dict[str, Any]] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"scope": "mine", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        response = await api.http.get("/sessions", params=params, headers=owner.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["sessions"]) <= 2
        seen += body["sessions"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(s["id"] for s in seen) == sorted(s["id"] for s in created)
    keys = [(s["created_at"], s["id"]) for s in seen]
    assert keys == sorted(keys, reverse=True)
    assert {s["role"] for s in seen} == {"owner"}


async def test_list_scopes_and_search(api: Api) -> None:
    """mine, shared and public list what the caller owns, collaborates on, and anyone's public."""
    me, other = await api.register(), await api.register()
    mine = await api.create_session(me, title="Algebra notes")
    shared = await api.create_session(other, title="Shared algebra")
    public = await api.create_session(other, title="Public geometry", is_public=True)
    await grant(api, other, shared["id"], me, "write")

    async def titles(**params: Any) -> list[tuple[str, str]]:
        response = await api.http.get("/sessions", params=params, headers=me.headers)
        assert response.status_code == 200, response.text
        return [(s["title"], s["role"]) for s in response.json()["sessions"]]

    assert await titles() == [("Algebra notes", "owner")]
    assert await titles(scope="shared") == [("Shared algebra", "write")]
    assert ("Public geometry", "read") in await titles(scope="public", limit=100)
    assert await titles(scope="public", q="GEOMETRY", limit=100) == [("Public geometry", "read")]
    assert await titles(scope="mine", q="nothing like it") == []
    assert mine["id"] != public["id"]


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"scope": "everything"},
        {"cursor": "bm90IGEgY3Vyc29y"},
        {"cursor": "%%%"},
        {"unknown": "1"},
    ],
)
async def test_invalid_list_query_is_422(api: Api, params: dict[str, str]) -> None:
    """A bad limit, scope or cursor, or an unknown parameter, answers 422."""
    owner = await api.register()
    response = await api.http.get("/sessions", params=params, headers=owner.headers)
    assert_error(response, 422, "validation_error")


async def test_update_changes_only_what_is_given(api: Api) -> None:
    """PUT changes the given fields; the rest stay as they were."""
    owner = await api.register()
    session = await api.create_session(owner, title="Old", metadata={"a": 1})
    response = await api.http.put(
        f"/sessions/{session['id']}",
        json={"title": "New", "is_public": True},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text
    updated = response.json()["session"]
    assert (updated["title"], updated["is_public"], updated["metadata"]) == ("New", True, {"a": 1})
    assert updated["updated_at"] >= session["updated_at"]
    assert (await get_session(api, owner, session["id"]))["session"]["title"] == "New"


@pytest.mark.parametrize("body", [{}, {"owner": "x"}, {"title": ""}, {"content": "text"}])
async def test_invalid_update_is_422(api: Api, body: dict[str, Any]) -> None:
    """An empty update, an unknown field or content (which goes through the room) is 422."""
    owner = await api.register()
    session = await api.create_session(owner)
    response = await api.http.put(f"/sessions/{session['id']}", json=body, headers=owner.headers)
    assert_error(response, 422, "validation_error")


async def test_delete_is_final(api: Api) -> None:
    """A deleted session is gone for everyone: reading, deleting again, forking."""
    room = await classroom(api)
    response = await api.http.delete(f"/sessions/{room.session_id}", headers=room.owner.headers)
    assert response.status_code == 204
    assert response.content == b""
    for role in ("owner", "write"):
        response = await api.http.get(f"/sessions/{room.session_id}", headers=room.headers(role))
        assert_error(response, 404, "not_found")
    again = await api.http.delete(f"/sessions/{room.session_id}", headers=room.owner.headers)
    assert_error(again, 404, "not_found")


async def test_fork_is_a_private_copy_of_your_own(api: Api) -> None:
    """A student's fork of a public notebook is theirs, private, with the same cells."""
    teacher, student = await api.register(), await api.register()
    source = await api.create_session(
        teacher, title="Lab 3", is_public=True, content=ipynb(code_cell("c1", "print('hi')"))
    )
    response = await api.http.post(
        f"/sessions/{source['id']}/fork", json={}, headers=student.headers
    )
    assert response.status_code == 201, response.text
    fork = response.json()["session"]
    assert (fork["title"], fork["owner"], fork["role"]) == (
        "Lab 3 (copy)",
        student.user["id"],
        "owner",
    )
    assert (fork["is_public"], fork["metadata"]) == (False, {"forked_from": source["id"]})
    body = await get_session(api, student, fork["id"], include="content")
    assert [cell["source"] for cell in body["content"]["cells"]] == ["print('hi')"]
    titled = await api.http.post(
        f"/sessions/{source['id']}/fork", json={"title": "Mine"}, headers=student.headers
    )
    assert titled.json()["session"]["title"] == "Mine"


async def test_export_notebook_is_a_valid_ipynb_download(api: Api) -> None:
    """Export answers the notebook as a .ipynb attachment that nbformat validates."""
    owner = await api.register()
    session = await api.create_session(
        owner, title="Lab 3", content=ipynb(code_cell("c1", "x = 1"))
    )
    response = await api.http.get(f"/sessions/{session['id']}/export", headers=owner.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-ipynb+json"
    disposition = Message()
    disposition["content-disposition"] = response.headers["content-disposition"]
    assert disposition.get_param("filename", header="content-disposition") == "Lab 3.ipynb"
    notebook = nbformat.reads(response.text, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert [cell.source for cell in notebook.cells] == ["x = 1"]


async def test_export_file_is_its_text(api: Api) -> None:
    """A file session exports as plain text named after its title and language."""
    owner = await api.register()
    session = await api.create_session(
        owner, title="solver", kind="file", language="python", content="print(42)\n"
    )
    response = await api.http.get(f"/sessions/{session['id']}/export", headers=owner.headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert 'filename="solver.py"' in response.headers["content-disposition"]
    assert response.text == "print(42)\n"


async def test_session_json_round_trips(api: Api) -> None:
    """Every response is JSON with the documented keys."""
    owner = await api.register()
    session = await api.create_session(owner)
    assert set(session) == {
        "id",
        "title",
        "kind",
        "language",
        "owner",
        "is_public",
        "metadata",
        "created_at",
        "updated_at",
        "role",
    }
    body = await get_session(api, owner, session["id"])
    assert set(body) == {"session", "collaborators", "content"}
    json.dumps(body)


async def test_concurrent_creates_are_all_listed(api: Api) -> None:
    """Sessions created at the same moment are all there, none twice."""
    owner = await api.register()
    created = await asyncio.gather(*(api.create_session(owner, title=f"C{i}") for i in range(8)))
    response = await api.http.get("/sessions", params={"limit": 100}, headers=owner.headers)
    listed = [s["id"] for s in response.json()["sessions"]]
    assert sorted(listed) == sorted(s["id"] for s in created)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/sessions"),
        ("POST", "/sessions/join"),
        ("PUT", "/sessions/0123abcd"),
        ("DELETE", "/sessions/0123abcd"),
        ("POST", "/sessions/0123abcd/fork"),
        ("GET", "/sessions/0123abcd/export"),
        ("GET", "/sessions/0123abcd/collaborators"),
        ("PUT", "/sessions/0123abcd/collaborators/ada"),
        ("DELETE", "/sessions/0123abcd/collaborators/ada"),
        ("GET", "/sessions/0123abcd/invites"),
        ("POST", "/sessions/0123abcd/invites"),
        ("DELETE", "/sessions/0123abcd/invites/code"),
    ],
)
async def test_no_token_is_401(api: Api, method: str, path: str) -> None:
    """Every session endpoint answers 401 without a Bearer token, before anything else."""
    response = await api.http.request(method, path, json={})
    assert_error(response, 401, "unauthenticated")
