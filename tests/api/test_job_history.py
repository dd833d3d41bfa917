"""A session's run history: newest first, paged, visible to its readers only."""

from __future__ import annotations

from tests.client import Api, assert_error
from tests.sessions.api_helpers import classroom


async def test_history_pages_newest_first_for_every_reader(api: Api) -> None:
    """Three runs come back newest first over two pages, to the owner and to a reader alike."""
    room = await classroom(api)
    owner, reader = room.accounts["owner"], room.accounts["read"]
    ids = [
        (await api.run_cell(owner, room.session["id"], f"c{n}", f"print({n})"))["id"]
        for n in range(3)
    ]
    for account in (owner, reader):
        first = await api.http.get(
            f"/sessions/{room.session['id']}/jobs?limit=2", headers=account.headers
        )
        assert first.status_code == 200, first.text
        page = first.json()
        assert [job["id"] for job in page["jobs"]] == ids[:0:-1]
        second = await api.http.get(
            f"/sessions/{room.session['id']}/jobs",
            params={"limit": 2, "cursor": page["next_cursor"]},
            headers=account.headers,
        )
        assert [job["id"] for job in second.json()["jobs"]] == ids[:1]
        assert second.json()["next_cursor"] is None


async def test_history_is_hidden_from_strangers(api: Api) -> None:
    """Someone with no role on a private session gets 404 for its history, as for the session."""
    room = await classroom(api)
    response = await api.http.get(
        f"/sessions/{room.session['id']}/jobs", headers=room.accounts["stranger"].headers
    )
    assert_error(response, 404, "not_found")


async def test_history_refuses_a_cursor_it_did_not_make(api: Api) -> None:
    """A made-up cursor is a 422 naming the cursor."""
    room = await classroom(api)
    response = await api.http.get(
        f"/sessions/{room.session['id']}/jobs?cursor=bogus", headers=room.accounts["owner"].headers
    )
    assert assert_error(response, 422, "validation_error")["details"][0]["field"] == "cursor"
