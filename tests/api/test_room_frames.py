"""Room messages of every size reach clients intact over the real WebSocket handler."""

from __future__ import annotations

from tests.client import Api
from tests.notebooks import code_cell, ipynb
from tests.server import JupyterServer
from tests.sessions.api_helpers import classroom
from tests.yclient import YClient

# Frame lengths take one, three or nine bytes (RFC 6455): below 126, below 64 KiB, above.
SMALL, MEDIUM, LARGE = "x = 1", "y = 2\n" * 100, "z = 3\n" * 20_000


def sources(client: YClient) -> list[str]:
    return [str(cell["source"]) for cell in client.notebook.get()["cells"]]


async def test_small_medium_and_large_messages_arrive_intact(
    api: Api, embedded_server: JupyterServer
) -> None:
    """A joining student gets a notebook larger than 64 KiB whole, then every edit of any
    size a classmate makes, in order."""
    content = ipynb(code_cell("c1", SMALL), code_cell("c2", MEDIUM), code_cell("c3", LARGE))
    room = await classroom(api, content=content)
    teacher_url = embedded_server.room_url(room.session_id, room.owner.access_token)
    student_url = embedded_server.room_url(room.session_id, room.accounts["read"].access_token)
    async with YClient.connect(teacher_url) as teacher, YClient.connect(student_url) as student:
        assert sources(student) == [SMALL, MEDIUM, LARGE]
        cells = teacher.notebook.ycells
        cells[0]["source"].insert(0, "#")
        cells[1]["source"].insert(0, MEDIUM)
        cells[2]["source"].insert(0, LARGE)
        expected = ["#" + SMALL, MEDIUM * 2, LARGE * 2]
        await student.wait_for(lambda: sources(student) == expected)
