"""The collaborator endpoints over HTTP: list, set a role, remove."""

from __future__ import annotations

import pytest

from tests.client import Api, assert_error
from tests.sessions.api_helpers import classroom


async def test_list_has_the_owner_first_with_user_summaries(api: Api) -> None:
    """The list starts with the owner (role owner); users appear as id, username, display name."""
    room = await classroom(api)
    response = await api.http.get(
        f"/sessions/{room.session_id}/collaborators", headers=room.headers("read")
    )
    assert response.status_code == 200, response.text
    collaborators = response.json()["collaborators"]
    owner = room.owner.user
    assert collaborators[0]["role"] == "owner"
    assert collaborators[0]["user"] == {
        "id": owner["id"],
        "username": owner["username"],
        "display_name": owner["display_name"],
    }
    assert sorted(c["role"] for c in collaborators) == ["admin", "owner", "read", "write"]
    assert all(c["added_at"] for c in collaborators)


async def test_set_by_username_or_id(api: Api) -> None:
    """A user can be given a role by username (any case) or by id; it answers the result."""
    owner, ann = await api.register(), await api.register()
    session = await api.create_session(owner)
    path = f"/sessions/{session['id']}/collaborators"
    by_name = await api.http.put(
        f"{path}/{ann.user['username'].upper()}", json={"role": "read"}, headers=owner.headers
    )
    assert by_name.status_code == 200, by_name.text
    assert by_name.json()["collaborator"]["role"] == "read"
    assert by_name.json()["collaborator"]["user"]["id"] == ann.user["id"]
    by_id = await api.http.put(
        f"{path}/{ann.user['id']}", json={"role": "write"}, headers=owner.headers
    )
    assert by_id.json()["collaborator"]["role"] == "write"
    response = await api.http.get(f"/sessions/{session['id']}", headers=ann.headers)
    assert response.json()["session"]["role"] == "write"


@pytest.mark.parametrize(
    "body", [{"role": "owner"}, {"role": "reader"}, {}, {"role": "read", "x": 1}]
)
async def test_invalid_role_is_422(api: Api, body: dict[str, str]) -> None:
    """Only read, write and admin can be granted."""
    owner, ann = await api.register(), await api.register()
    session = await api.create_session(owner)
    response = await api.http.put(
        f"/sessions/{session['id']}/collaborators/{ann.user['id']}",
        json=body,
        headers=owner.headers,
    )
    assert_error(response, 422, "validation_error")


async def test_unknown_user_is_404(api: Api) -> None:
    """Granting a role to a user who does not exist answers 404."""
    owner = await api.register()
    session = await api.create_session(owner)
    response = await api.http.put(
        f"/sessions/{session['id']}/collaborators/no-such-user",
        json={"role": "read"},
        headers=owner.headers,
    )
    assert_error(response, 404, "not_found")


async def test_owner_cannot_be_demoted_or_removed(api: Api) -> None:
    """Changing or removing the owner's role answers 409, for the owner and admins alike."""
    room = await classroom(api)
    path = f"/sessions/{room.session_id}/collaborators/{room.owner.user['id']}"
    for role in ("owner", "admin"):
        demote = await api.http.put(path, json={"role": "read"}, headers=room.headers(role))
        assert_error(demote, 409, "conflict")
        remove = await api.http.delete(path, headers=room.headers(role))
        assert_error(remove, 409, "conflict")


async def test_remove_and_leave(api: Api) -> None:
    """An admin removes a collaborator; a reader may leave; removing twice is 404."""
    room = await classroom(api)
    path = f"/sessions/{room.session_id}/collaborators"
    writer_id, reader_id = room.accounts["write"].user["id"], room.accounts["read"].user["id"]
    removed = await api.http.delete(f"{path}/{writer_id}", headers=room.headers("admin"))
    assert removed.status_code == 204
    left = await api.http.delete(f"{path}/{reader_id}", headers=room.headers("read"))
    assert left.status_code == 204
    for role in ("write", "read"):
        gone = await api.http.get(f"/sessions/{room.session_id}", headers=room.headers(role))
        assert_error(gone, 404, "not_found")
    again = await api.http.delete(f"{path}/{writer_id}", headers=room.headers("admin"))
    assert_error(again, 404, "not_found")
