"""Invite links over HTTP: create, join, the code's limits, revocation, concurrent joins."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.client import Account, Api, assert_error
from tests.sessions.api_helpers import register_all


async def invite(api: Api, owner: Account, session_id: str, **fields: object) -> dict[str, object]:
    response = await api.http.post(
        f"/sessions/{session_id}/invites", json=fields, headers=owner.headers
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def join(api: Api, account: Account, code: object) -> tuple[int, dict[str, object]]:
    response = await api.http.post("/sessions/join", json={"code": code}, headers=account.headers)
    return response.status_code, response.json()


async def test_invite_has_an_unguessable_code_and_a_lab_url(api: Api) -> None:
    """An invite is a long random code and a JupyterLab URL carrying it."""
    owner = await api.register()
    session = await api.create_session(owner)
    created = await invite(api, owner, session["id"], role="write", max_uses=30, expires_in=3600)
    code = str(created["code"])
    assert len(code) >= 22
    url = urlsplit(str(created["url"]))
    assert (url.scheme, url.netloc, url.path) == ("http", api.http.base_url.netloc.decode(), "/lab")
    assert parse_qs(url.query) == {"codecrafter-invite": [code]}
    assert (created["role"], created["max_uses"], created["uses"]) == ("write", 30, 0)
    assert created["expires_at"] and created["revoked"] is False
    other = await invite(api, owner, session["id"])
    assert other["code"] != code and other["role"] == "read"


async def test_student_joins_with_the_link_role(api: Api) -> None:
    """Joining adds the student with the invite's role; the session then lists as shared."""
    teacher, student = await api.register(), await api.register()
    session = await api.create_session(teacher, title="Class")
    created = await invite(api, teacher, session["id"], role="write")
    status, body = await join(api, student, created["code"])
    assert status == 200, body
    assert body["role"] == "write"
    assert body["session"]["id"] == session["id"]  # type: ignore[index]
    shared = await api.http.get("/sessions", params={"scope": "shared"}, headers=student.headers)
    assert [(s["id"], s["role"]) for s in shared.json()["sessions"]] == [(session["id"], "write")]


async def test_join_never_downgrades_and_owner_join_is_a_no_op(api: Api) -> None:
    """A writer joining with a read link stays a writer; the owner stays owner; no use is spent."""
    teacher, student = await api.register(), await api.register()
    session = await api.create_session(teacher)
    write = await invite(api, teacher, session["id"], role="write")
    read = await invite(api, teacher, session["id"], role="read", max_uses=1)
    assert (await join(api, student, write["code"]))[1]["role"] == "write"
    assert (await join(api, student, read["code"]))[1]["role"] == "write"
    assert (await join(api, teacher, read["code"]))[1]["role"] == "owner"
    listed = await api.http.get(f"/sessions/{session['id']}/invites", headers=teacher.headers)
    uses = {i["code"]: i["uses"] for i in listed.json()["invites"]}
    assert uses == {write["code"]: 1, read["code"]: 0}


async def test_used_up_and_revoked_codes_are_gone(api: Api) -> None:
    """A one-use code works once, then answers 410; so does a revoked code; unknown is 404."""
    teacher, first, second = await register_all(api, 3)
    session = await api.create_session(teacher)
    once = await invite(api, teacher, session["id"], max_uses=1)
    assert (await join(api, first, once["code"]))[0] == 200
    status, body = await join(api, second, once["code"])
    assert status == 410 and body["error"]["code"] == "gone"  # type: ignore[index]

    revoked = await invite(api, teacher, session["id"])
    response = await api.http.delete(
        f"/sessions/{session['id']}/invites/{revoked['code']}", headers=teacher.headers
    )
    assert response.status_code == 204
    status, body = await join(api, second, revoked["code"])
    assert status == 410 and "revoked" in body["error"]["message"]  # type: ignore[index]
    assert (await join(api, second, "no-such-code"))[0] == 404
    gone = await api.http.get(f"/sessions/{session['id']}", headers=second.headers)
    assert_error(gone, 404, "not_found")


@pytest.mark.parametrize(
    "fields",
    [
        {"role": "owner"},
        {"expires_in": 10},
        {"expires_in": 10**9},
        {"max_uses": 0},
        {"role": "read", "extra": True},
    ],
)
async def test_invalid_invite_is_422(api: Api, fields: dict[str, object]) -> None:
    """An owner role, a lifetime under a minute or over a year, or zero uses is refused."""
    owner = await api.register()
    session = await api.create_session(owner)
    response = await api.http.post(
        f"/sessions/{session['id']}/invites", json=fields, headers=owner.headers
    )
    assert_error(response, 422, "validation_error")


@pytest.mark.parametrize("code", ["", "a" * 65, "has space", "../x"])
async def test_malformed_code_is_422(api: Api, code: str) -> None:
    """A code that cannot be one of ours is refused before any lookup."""
    student = await api.register()
    response = await api.http.post("/sessions/join", json={"code": code}, headers=student.headers)
    assert_error(response, 422, "validation_error")


async def test_revoking_through_another_session_is_404(api: Api) -> None:
    """A code can only be revoked through its own session."""
    owner = await api.register()
    one, two = await api.create_session(owner), await api.create_session(owner)
    created = await invite(api, owner, two["id"])
    response = await api.http.delete(
        f"/sessions/{one['id']}/invites/{created['code']}", headers=owner.headers
    )
    assert_error(response, 404, "not_found")


async def test_concurrent_joins_with_a_one_use_code(api: Api) -> None:
    """Twenty students press join at once on a one-use link: exactly one gets in."""
    teacher, *students = await register_all(api, 21)
    session = await api.create_session(teacher)
    created = await invite(api, teacher, session["id"], role="write", max_uses=1)
    results = await asyncio.gather(*(join(api, s, created["code"]) for s in students))
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [410] * 19
    members = await api.http.get(
        f"/sessions/{session['id']}/collaborators", headers=teacher.headers
    )
    assert [c["role"] for c in members.json()["collaborators"]] == ["owner", "write"]
