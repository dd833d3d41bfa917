"""Session changes reach live room connections at once: real pycrdt clients over WebSockets
against the embedded server."""

from __future__ import annotations

import nbformat

from jupyter_codecrafter.rooms.protocol import CLOSE_DELETED, CLOSE_GOING_AWAY, CLOSE_REMOVED
from tests.client import Api, assert_error
from tests.notebooks import code_cell, ipynb
from tests.server import JupyterServer
from tests.sessions.api_helpers import classroom, grant
from tests.yclient import YClient


def source(client: YClient) -> str:
    return str(client.notebook.get()["cells"][0]["source"])


async def test_downgrade_takes_effect_on_a_live_connection(
    api: Api, embedded_server: JupyterServer
) -> None:
    """A writer demoted while connected is told, and their next edit reaches nobody."""
    room = await classroom(api, content=ipynb(code_cell("c1", "x = 1")))
    writer = room.accounts["write"]
    teacher_url = embedded_server.room_url(room.session_id, room.owner.access_token)
    async with (
        YClient.connect(teacher_url) as teacher,
        YClient.connect(embedded_server.room_url(room.session_id, writer.access_token)) as student,
    ):
        student.notebook.ycells[0]["source"].insert(0, "a")
        await teacher.wait_for(lambda: source(teacher) == "ax = 1")

        await grant(api, room.owner, room.session_id, writer, "read")
        await student.wait_for(lambda: {"type": "role", "role": "read"} in student.control_messages)
        student.notebook.ycells[0]["source"].insert(0, "b")
        await student.wait_for(
            lambda: any(m["type"] == "read_only" for m in student.control_messages)
        )
        teacher.notebook.ycells[0]["source"].insert(len("ax = 1"), "0")
        await student.wait_for(lambda: source(student).endswith("x = 10"))
        assert source(teacher) == "ax = 10"

        await grant(api, room.owner, room.session_id, writer, "write")  # and back up
        await student.wait_for(
            lambda: {"type": "role", "role": "write"} in student.control_messages
        )
        student.notebook.ycells[0]["source"].insert(0, "c")
        await teacher.wait_for(lambda: source(teacher).startswith("c"))


async def test_removal_closes_the_connection(api: Api, embedded_server: JupyterServer) -> None:
    """A removed collaborator's socket is closed with 4403, and they cannot reconnect."""
    room = await classroom(api)
    writer = room.accounts["write"]
    url = embedded_server.room_url(room.session_id, writer.access_token)
    async with YClient.connect(url) as student:
        response = await api.http.delete(
            f"/sessions/{room.session_id}/collaborators/{writer.user['id']}",
            headers=room.owner.headers,
        )
        assert response.status_code == 204
        assert await student.closed() == CLOSE_REMOVED
    response = await api.http.get(f"/sessions/{room.session_id}", headers=writer.headers)
    assert response.status_code == 404


async def test_delete_closes_every_connection(api: Api, embedded_server: JupyterServer) -> None:
    """Deleting a session closes everyone's socket with 4404."""
    room = await classroom(api)
    urls = [
        embedded_server.room_url(room.session_id, room.accounts[role].access_token)
        for role in ("owner", "read")
    ]
    async with YClient.connect(urls[0]) as one, YClient.connect(urls[1]) as two:
        response = await api.http.delete(f"/sessions/{room.session_id}", headers=room.owner.headers)
        assert response.status_code == 204
        assert await one.closed() == CLOSE_DELETED
        assert await two.closed() == CLOSE_DELETED


async def test_going_private_drops_visitors(api: Api, embedded_server: JupyterServer) -> None:
    """When a public session turns private, connected visitors are disconnected for good."""
    owner, visitor = await api.register(), await api.register()
    session = await api.create_session(owner, is_public=True)
    async with YClient.connect(embedded_server.room_url(session["id"], visitor.access_token)) as c:
        response = await api.http.put(
            f"/sessions/{session['id']}", json={"is_public": False}, headers=owner.headers
        )
        assert response.status_code == 200
        assert await c.closed() == CLOSE_GOING_AWAY
    response = await api.http.get(f"/sessions/{session['id']}", headers=visitor.headers)
    assert response.status_code == 404


async def test_export_round_trip(api: Api, embedded_server: JupyterServer) -> None:
    """Create from an .ipynb, edit in the room, export: a valid notebook with the edit."""
    owner = await api.register()
    uploaded = nbformat.v4.new_notebook()
    uploaded.cells = [nbformat.v4.new_code_cell("x = 1"), nbformat.v4.new_markdown_cell("# Hi")]
    nbformat.validate(uploaded)
    session = await api.create_session(owner, title="Round trip", content=dict(uploaded))
    url = embedded_server.room_url(session["id"], owner.access_token)
    async with YClient.connect(url) as editor, YClient.connect(url) as witness:
        editor.notebook.ycells[0]["source"].insert(len("x = 1"), "\nprint(x)")
        editor.notebook.append_cell(
            {"cell_type": "markdown", "source": "Added live", "metadata": {}, "id": "live"}
        )
        # Once another client has both edits, the server has applied them.
        await witness.wait_for(lambda: len(witness.notebook.get()["cells"]) == 3)
        await witness.wait_for(lambda: source(witness) == "x = 1\nprint(x)")
        response = await api.http.get(f"/sessions/{session['id']}/export", headers=owner.headers)
    assert response.status_code == 200
    exported = nbformat.reads(response.text, as_version=nbformat.NO_CONVERT)
    nbformat.validate(exported)
    assert [cell.source for cell in exported.cells] == ["x = 1\nprint(x)", "# Hi", "Added live"]
    assert [cell.id for cell in exported.cells][:2] == [cell.id for cell in uploaded.cells]


async def test_a_refused_room_socket_gets_the_json_error(api: Api) -> None:
    """The room's upgrade is refused as the kernel channel's is: the API's JSON error."""
    owner, stranger = await api.register(), await api.register()
    session = await api.create_session(owner)
    path = f"/rooms/{session['id']}"
    assert_error(await api.http.get(path), 401, "unauthenticated")
    hidden = await api.http.get(path, params={"token": stranger.access_token})
    assert_error(hidden, 404)
