"""A session's kernel channel: Jupyter's kernel WebSocket protocol bridged to the session's
sandbox kernel, two clients at once, filtered by role (issue 12)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from tests.client import Account, Api, assert_error
from tests.kernelws import KernelWs, WsKernelManager, kernel_channel_url
from tests.server import JupyterServer, running, start_server
from tests.services import need
from tests.sessions.api_helpers import grant
from tests.yclient import YClient

INPUT_TIMEOUT_S = 5

OPEN_COMM = """
from ipykernel.comm import Comm
state = {"value": 0}
lesson = Comm(target_name="lesson", data={"hello": 1})
def on_msg(msg):
    state["value"] = msg["content"]["data"]["value"]
lesson.on_msg(on_msg)
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """An embedded server whose input() waits a few seconds for an answer."""
    env = {"CODECRAFTER_KERNEL_INPUT_TIMEOUT_S": str(INPUT_TIMEOUT_S)}
    server = start_server(tmp_path_factory.mktemp("kernel-channel"), env)
    with running(server):
        yield server


@dataclass
class Pair:
    """A session with a writer (its owner) and a reader, each on the kernel channel."""

    api: Api
    session_id: str
    owner: Account
    reader: Account
    writer_ws: KernelWs
    reader_ws: KernelWs

    async def run(self, code: str) -> dict[str, Any]:
        job = await self.api.run_cell(self.owner, self.session_id, "c1", code)
        return await self.api.wait_job(self.owner, job["id"])


@contextlib.asynccontextmanager
async def paired(writer_at: JupyterServer, reader_at: JupyterServer) -> AsyncIterator[Pair]:
    """An owner's session with a reader, each on the kernel channel of their instance."""
    async with Api(reader_at.api) as api:
        owner, reader = await api.register(), await api.register()
        session = await api.create_session(owner)
        await grant(api, owner, session["id"], reader, "read")
        url = kernel_channel_url(writer_at.url, session["id"], owner.access_token)
        reader_url = kernel_channel_url(reader_at.url, session["id"], reader.access_token)
        async with KernelWs.connect(url) as one, KernelWs.connect(reader_url) as two:
            yield Pair(api, session["id"], owner, reader, one, two)


@pytest.fixture
async def pair(server: JupyterServer) -> AsyncIterator[Pair]:
    async with paired(server, server) as made:
        yield made


def text(job: dict[str, Any]) -> str:
    return "".join(o.get("text", "") for o in job["outputs"] if o["output_type"] == "stream")


async def test_kernel_info_before_the_first_run(pair: Pair) -> None:
    """Before any run there is no kernel, yet the channel answers kernel_info for Python."""
    reply = await pair.reader_ws.request("kernel_info_request", {})
    assert reply["content"]["status"] == "ok"
    assert reply["content"]["language_info"]["name"] == "python"
    assert (
        await pair.api.http.get(f"/sessions/{pair.session_id}/kernel", headers=pair.owner.headers)
    ).json()["kernel"]["state"] == "none"


async def test_completion_and_inspection_for_both_clients(pair: Pair) -> None:
    """Writer and reader both complete and inspect a name defined by an earlier run."""
    await pair.run("lesson_total = 42")
    for ws in (pair.writer_ws, pair.reader_ws):
        completed = await ws.request("complete_request", {"code": "lesson_t", "cursor_pos": 8})
        assert "lesson_total" in completed["content"]["matches"]
        inspected = await ws.request(
            "inspect_request", {"code": "lesson_total", "cursor_pos": 5, "detail_level": 0}
        )
        assert inspected["content"]["found"] is True
        assert "int" in inspected["content"]["data"]["text/plain"]


async def test_a_comm_opened_by_the_kernel_reaches_both(pair: Pair) -> None:
    """A comm the kernel opens in a run is announced to every client of the session."""
    await pair.run(OPEN_COMM)
    for ws in (pair.writer_ws, pair.reader_ws):
        opened = await ws.wait_for("iopub", lambda m: m["msg_type"] == "comm_open")
        assert opened["content"]["target_name"] == "lesson"
        assert opened["content"]["data"] == {"hello": 1}


async def test_a_writers_comm_message_changes_the_kernel_a_readers_is_dropped(
    pair: Pair,
) -> None:
    """The reader's comm message leaves the kernel's value alone; the writer's sets it."""
    await pair.run(OPEN_COMM)
    opened = await pair.reader_ws.wait_for("iopub", lambda m: m["msg_type"] == "comm_open")
    comm_id = opened["content"]["comm_id"]
    for ws, value in ((pair.reader_ws, 99), (pair.writer_ws, 7)):
        update = ws.message("comm_msg", {"comm_id": comm_id, "data": {"value": value}})
        await ws.send("shell", update)
        # Later messages of one client reach the kernel in order: after this reply, the
        # comm message was handled, or never sent.
        await ws.request("kernel_info_request", {})
        shown = await pair.run('print(state["value"])')
        assert text(shown) == ("0\n" if value == 99 else "7\n")


async def test_a_reader_cannot_execute(pair: Pair) -> None:
    """A reader's execute_request is answered with an error, and nothing runs."""
    reply = await pair.reader_ws.request("execute_request", {"code": "import os"})
    assert reply["content"]["status"] == "error"
    assert reply["content"]["ename"] == "forbidden"
    history = await pair.api.http.get(
        f"/sessions/{pair.session_id}/jobs", headers=pair.owner.headers
    )
    assert history.json()["jobs"] == []


async def test_code_is_checked_as_post_execute_checks_it(pair: Pair) -> None:
    """Code that is not text, or over max_code_bytes, is refused with an error reply."""
    not_text = await pair.writer_ws.request("execute_request", {"code": 42})
    too_big = await pair.writer_ws.request("execute_request", {"code": "#" * 300_000})
    assert not_text["content"]["ename"] == "bad_request"
    assert too_big["content"]["ename"] == "payload_too_large"


async def test_input_asks_the_user_who_ran_the_cell(pair: Pair) -> None:
    """input() reaches the clients of the user who ran the cell, and their answer the kernel."""
    job = await pair.api.run_cell(pair.owner, pair.session_id, "c1", 'print("Hi", input("Name? "))')
    asked = await pair.writer_ws.wait_for("stdin", lambda m: m["msg_type"] == "input_request")
    assert asked["content"]["prompt"] == "Name? "
    assert asked["metadata"]["codecrafter"] == {"job_id": job["id"], "cell_id": "c1"}
    await pair.writer_ws.send("stdin", pair.writer_ws.message("input_reply", {"value": "Ada"}))
    done = await pair.api.wait_job(pair.owner, job["id"])
    assert done["status"] == "succeeded" and text(done).endswith("Hi Ada\n")
    await pair.reader_ws.request("kernel_info_request", {})  # anything sent to it came first
    assert pair.reader_ws.received["stdin"] == []


async def test_getpass_asks_for_a_password(pair: Pair) -> None:
    """getpass() reaches the user as a password prompt, and the kernel gets the answer."""
    code = 'import getpass\nprint(len(getpass.getpass("PIN? ")))'
    job = await pair.api.run_cell(pair.owner, pair.session_id, "c1", code)
    asked = await pair.writer_ws.wait_for("stdin", lambda m: m["msg_type"] == "input_request")
    assert asked["content"] == {"prompt": "PIN? ", "password": True}
    await pair.writer_ws.send("stdin", pair.writer_ws.message("input_reply", {"value": "1234"}))
    assert text(await pair.api.wait_job(pair.owner, job["id"])) == "4\n"


async def test_the_room_shows_that_a_cell_waits_for_input(
    pair: Pair, server: JupyterServer
) -> None:
    """Every collaborator's room says the cell waits for input, then that it no longer does."""
    url = server.room_url(pair.session_id, pair.reader.access_token)
    async with YClient.connect(url) as room:
        job = await pair.api.run_cell(pair.owner, pair.session_id, "c7", "input()")
        await room.wait_for(lambda: waiting(room) == [True])
        await pair.writer_ws.wait_for("stdin", lambda m: m["msg_type"] == "input_request")
        await pair.writer_ws.send("stdin", pair.writer_ws.message("input_reply", {"value": ""}))
        await pair.api.wait_job(pair.owner, job["id"])
        await room.wait_for(lambda: waiting(room) == [True, False])
    notice = next(m for m in room.control_messages if m.get("type") == "input")
    assert notice["cell_id"] == "c7" and notice["user_id"] == pair.owner.user["id"]


def waiting(room: YClient) -> list[bool]:
    return [m["waiting"] for m in room.control_messages if m.get("type") == "input"]


async def test_input_without_an_answer_times_out(pair: Pair) -> None:
    """Unanswered, input() gets end-of-file after the timeout, with an error saying why."""
    done = await pair.run('input("Name? ")')
    assert done["status"] == "failed"
    errors = [o for o in done["outputs"] if o["output_type"] == "error"]
    assert [e["ename"] for e in errors] == ["InputTimeout", "EOFError"]
    assert f"{INPUT_TIMEOUT_S} s" in errors[0]["evalue"]


async def test_interrupt_while_waiting_for_input(pair: Pair) -> None:
    """An interrupt_request ends a run waiting for input; the kernel keeps its variables."""
    await pair.run("kept = 5")
    job = await pair.api.run_cell(pair.owner, pair.session_id, "c1", "input()")
    await pair.writer_ws.wait_for("stdin", lambda m: m["msg_type"] == "input_request")
    reply = await pair.writer_ws.request("interrupt_request", {}, channel="control")
    assert reply["content"]["status"] == "ok"
    assert (await pair.api.wait_job(pair.owner, job["id"]))["status"] == "cancelled"
    assert text(await pair.run("print(kept)")) == "5\n"


async def test_nbclient_executes_a_notebook_through_the_channel(
    pair: Pair, server: JupyterServer
) -> None:
    """nbclient runs a notebook against the session's kernel over the standard protocol."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("answer = 6 * 7"),
        nbformat.v4.new_code_cell("print(answer)"),
        nbformat.v4.new_code_cell("answer"),
    ]
    url = kernel_channel_url(server.url, pair.session_id, pair.owner.access_token)
    client = NotebookClient(notebook, km=WsKernelManager(url), timeout=60)  # type: ignore[arg-type]
    executed = await client.async_execute()
    assert executed.cells[1].outputs[0]["text"] == "42\n"
    assert executed.cells[2].outputs[0]["data"]["text/plain"] == "42"
    assert executed.cells[2].execution_count == executed.cells[1].execution_count + 1


async def test_the_legacy_json_protocol(pair: Pair, server: JupyterServer) -> None:
    """A client that offers no subprotocol speaks JSON text frames and gets replies."""
    url = kernel_channel_url(server.url, pair.session_id, pair.reader.access_token)
    async with KernelWs.connect(url, v1=False) as legacy:
        assert not legacy.v1
        reply = await legacy.request("kernel_info_request", {})
    assert reply["content"]["status"] == "ok"


async def test_a_socket_without_a_token_is_refused(server: JupyterServer) -> None:
    """No token, no socket: the upgrade is refused with a JSON 401."""
    async with Api(server.api) as api:
        owner = await api.register()
        session = await api.create_session(owner)
        response = await api.http.get(f"/sessions/{session['id']}/kernel/channels")
    assert_error(response, 401, "unauthenticated")


SLIDER = "import ipywidgets as widgets\nslider = widgets.IntSlider(value=1)\nslider"


def widget_update(ws: KernelWs, comm_id: str, value: int) -> dict[str, Any]:
    data = {"method": "update", "state": {"value": value}, "buffer_paths": []}
    return ws.message("comm_msg", {"comm_id": comm_id, "data": data})


def is_slider(msg: dict[str, Any]) -> bool:
    content = msg["content"]
    return msg["msg_type"] == "comm_open" and content["data"]["state"].get("value") is not None


async def test_a_writer_moves_a_slider_for_everyone_a_reader_cannot(pair: Pair) -> None:
    """ipywidgets 8: both clients get the slider; the writer's move is echoed to the reader,
    the reader's move is dropped and the kernel keeps the writer's value."""
    await pair.run(SLIDER)
    opened = [await ws.wait_for("iopub", is_slider) for ws in (pair.writer_ws, pair.reader_ws)]
    assert [o["content"]["data"]["state"]["value"] for o in opened] == [1, 1]
    comm_id = opened[0]["content"]["comm_id"]
    await pair.writer_ws.send("shell", widget_update(pair.writer_ws, comm_id, 5))
    echoed = await pair.reader_ws.wait_for(
        "iopub",
        lambda m: m["msg_type"] == "comm_msg" and m["content"]["data"]["method"] == "echo_update",
    )
    assert echoed["content"]["data"]["state"] == {"value": 5}
    await pair.reader_ws.send("shell", widget_update(pair.reader_ws, comm_id, 9))
    await pair.reader_ws.request("kernel_info_request", {})  # after the move, or never sent
    assert text(await pair.run("print(slider.value)")) == "5\n"


async def test_a_late_reader_syncs_the_widgets_current_state(
    pair: Pair, server: JupyterServer
) -> None:
    """A reader who connects later asks the widget control comm and gets the slider's
    current value, as JupyterLab's widget manager does on load."""
    await pair.run(SLIDER + "\nslider.value = 3")
    url = kernel_channel_url(server.url, pair.session_id, pair.reader.access_token)
    async with KernelWs.connect(url) as late:
        target = {"comm_id": "ctl-1", "target_name": "jupyter.widget.control", "data": {}}
        control = late.message("comm_open", target, version="1.0.0")  # the control protocol
        await late.send("shell", control)
        ask = late.message("comm_msg", {"comm_id": "ctl-1", "data": {"method": "request_states"}})
        await late.send("shell", ask)
        states = await late.wait_for(
            "iopub", lambda m: m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == "ctl-1"
        )
    values = [s["state"].get("value") for s in states["content"]["data"]["states"].values()]
    assert 3 in values


async def test_removing_a_collaborator_closes_their_kernel_channel(pair: Pair) -> None:
    """A removed reader's kernel channel is closed with 4403, as their room socket is."""
    response = await pair.api.http.delete(
        f"/sessions/{pair.session_id}/collaborators/{pair.reader.user['id']}",
        headers=pair.owner.headers,
    )
    assert response.status_code == 204
    assert await pair.reader_ws.closed() == 4403


async def test_a_promoted_reader_may_run_at_once(pair: Pair) -> None:
    """Made a writer, the reader's open channel runs code without reconnecting."""
    await grant(pair.api, pair.owner, pair.session_id, pair.reader, "write")
    reply = await pair.reader_ws.request("execute_request", {"code": "print('promoted')"})
    assert reply["content"]["status"] == "ok"


async def test_restart_through_the_control_channel(pair: Pair) -> None:
    """shutdown_request with restart gives a fresh kernel, which the channel then reaches;
    without restart, the shared kernel stays."""
    await pair.run("before_restart = 1")
    kept = await pair.writer_ws.request("shutdown_request", {"restart": False}, "control")
    assert kept["content"]["ename"] == "shared_kernel"
    assert text(await pair.run("print(before_restart)")) == "1\n"
    started = (await kernel_state(pair))["started_at"]
    reply = await pair.writer_ws.request("shutdown_request", {"restart": True}, "control")
    assert reply["content"] == {"status": "ok", "restart": True}
    # The reply comes when the worker was told; the new kernel announces itself later.
    deadline = time.monotonic() + 60
    while (now := await kernel_state(pair))["started_at"] == started or now["state"] != "idle":
        assert time.monotonic() < deadline, "the kernel was not restarted"
        await asyncio.sleep(0.05)
    gone = await pair.run("print(before_restart)")
    assert gone["status"] == "failed" and "NameError" in gone["error"]
    await pair.run("after_restart = 2")  # the channel follows the kernel to its new sockets
    completed = await pair.reader_ws.request(
        "complete_request", {"code": "after_r", "cursor_pos": 7}
    )
    assert completed["content"]["matches"] == ["after_restart"]


async def kernel_state(pair: Pair) -> dict[str, Any]:
    response = await pair.api.http.get(
        f"/sessions/{pair.session_id}/kernel", headers=pair.owner.headers
    )
    return response.json()["kernel"]  # type: ignore[no-any-return]


async def test_runs_through_the_channel_count_against_the_execute_limit(
    tmp_path: Path,
) -> None:
    """Past rate_limit_execute, an execute_request is answered 'rate_limited', not run."""
    server = start_server(tmp_path, {"CODECRAFTER_RATE_LIMIT_EXECUTE": "1/minute"})
    async with Api(server.api) as api:
        with running(server):
            owner = await api.register()
            session = await api.create_session(owner)
            url = kernel_channel_url(server.url, session["id"], owner.access_token)
            async with KernelWs.connect(url) as ws:
                first = await ws.request("execute_request", {"code": "1"})
                second = await ws.request("execute_request", {"code": "2"})
    assert first["content"]["status"] == "ok"
    assert second["content"]["ename"] == "rate_limited"


BUTTON = """
import ipywidgets as widgets
out = widgets.Output()
button = widgets.Button(description="Go")
def clicked(_):
    with out:
        print("clicked")
button.on_click(clicked)
widgets.VBox([button, out])
"""


def model_named(name: str) -> Callable[[dict[str, Any]], bool]:
    def match(msg: dict[str, Any]) -> bool:
        state = msg["content"].get("data", {}).get("state", {})
        return msg["msg_type"] == "comm_open" and state.get("_model_name") == name

    return match


async def test_a_click_captures_its_output_through_the_senders_msg_id(pair: Pair) -> None:
    """A writer's button click: the Output widget captures by the click's own msg_id, and
    the print comes with the click as parent, so JupyterLab's capture hook finds it."""
    await pair.run(BUTTON)
    button = await pair.writer_ws.wait_for("iopub", model_named("ButtonModel"))
    data = {"method": "custom", "content": {"event": "click"}}
    click = pair.writer_ws.message(
        "comm_msg", {"comm_id": button["content"]["comm_id"], "data": data}
    )
    msg_id = await pair.writer_ws.send("shell", click)
    captured = await pair.writer_ws.wait_for(
        "iopub",
        lambda m: (
            m["msg_type"] == "comm_msg"
            and m["content"]["data"].get("state", {}).get("msg_id") == msg_id
        ),
    )
    assert captured["parent_header"]["msg_id"] == msg_id
    printed = await pair.writer_ws.wait_for("iopub", lambda m: m["msg_type"] == "stream")
    assert printed["parent_header"]["msg_id"] == msg_id
    assert printed["content"]["text"] == "clicked\n"


async def test_the_socket_where_jupyterlab_looks_for_it(pair: Pair, server: JupyterServer) -> None:
    """With wsUrl .../sessions/<id>/kernel/, KernelConnection's own URL shape connects."""
    base = server.url.replace("http://", "ws://")
    ws_url = f"{base}/api/codecrafter/sessions/{pair.session_id}/kernel/"
    url = f"{ws_url}api/kernels/lab-kernel-1/channels?session_id=client-1"
    async with KernelWs.connect(f"{url}&token={pair.reader.access_token}") as lab:
        reply = await lab.request("kernel_info_request", {})
    assert reply["content"]["status"] == "ok"


NODE_MODULES = Path(
    os.environ.get(
        "CODECRAFTER_TEST_NODE_MODULES",
        Path(__file__).parents[2] / "labextension" / "node_modules",
    )
)


@pytest.fixture(scope="module")
def lab_kernel_script() -> Path:
    """The Node script driving @jupyterlab/services, from the labextension's node_modules
    (``make install`` puts them there; CODECRAFTER_TEST_NODE_MODULES points elsewhere)."""

    def probe() -> None:
        if shutil.which("node") is None:
            raise FileNotFoundError("node is not installed")
        if not (NODE_MODULES / "@jupyterlab" / "services").is_dir():
            raise FileNotFoundError(f"no @jupyterlab/services in {NODE_MODULES}")

    need("Node.js with @jupyterlab/services", probe)
    return Path(__file__).with_name("js") / "lab_kernel.cjs"


async def test_jupyterlabs_kernel_connection_runs_completes_and_inspects(
    lab_kernel_script: Path, pair: Pair, server: JupyterServer
) -> None:
    """JupyterLab's KernelConnection, given only wsUrl and the token, speaks the v1
    protocol with the session's kernel: a run's future gets its output, then completion and
    help for what it defined."""
    node = await asyncio.create_subprocess_exec(
        "node",
        str(lab_kernel_script),
        f"{server.url}/",
        pair.session_id,
        pair.owner.access_token,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(node.communicate(), 60)
    assert node.returncode == 0, stderr.decode()
    result = json.loads(stdout.decode().strip().splitlines()[-1])
    assert result["protocol"] == "v1.kernel.websocket.jupyter.org"
    assert result["language"] == "python"
    assert result["ran"] == {"status": "ok", "printed": "42\n"}
    assert result["matches"] == ["lab_value"] and result["found"] is True
