"""A session kernel's bridge to the bus, in every sandbox backend: what the kernel says
reaches the session's kernel-out channel, requests on kernel-in reach the kernel, and
input() asks the user who ran the cell."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import pytest
import pytest_asyncio
from jupyter_client.session import Session

from jupyter_codecrafter.bus.memory import MemoryBus
from jupyter_codecrafter.execution.kernelwire import (
    Envelope,
    KernelMessage,
    kernel_in_channel,
    kernel_out_channel,
)
from jupyter_codecrafter.store.records import JobStatus
from jupyter_codecrafter.worker.kernel import ExecutionOutcome
from jupyter_codecrafter.worker.kernels import KernelPool
from jupyter_codecrafter.worker.sandbox.base import Sandbox
from tests.worker.conftest import LIMITS

pytestmark = pytest.mark.asyncio(loop_scope="module")

INPUT_TIMEOUT_S = 3.0
WAIT_S = 60.0


class BridgedSession:
    """A session's kernel on a pool, and everything its bridge published."""

    def __init__(self, pool: KernelPool, bus: MemoryBus, session_id: str) -> None:
        self.pool, self.bus, self.id = pool, bus, session_id
        self.out: list[Envelope] = []
        self.arrived = asyncio.Event()
        self.client = Session(key=b"", username="test")

    async def on_out(self, data: bytes) -> None:
        self.out.append(Envelope.decode(data))
        self.arrived.set()

    async def wait_for(self, match: Callable[[Envelope], bool]) -> Envelope:
        async with asyncio.timeout(WAIT_S):
            while True:
                found = [e for e in self.out if match(e)]
                if found:
                    return found[0]
                self.arrived.clear()
                await self.arrived.wait()

    async def run(self, code: str, tag: str, user_id: str = "u1") -> ExecutionOutcome:
        async def ignore(_: dict[str, Any]) -> None:
            pass

        return await self.pool.execute(
            self.id, LIMITS, code, on_output=ignore, tag=tag, user_id=user_id
        )

    async def send(self, channel: str, msg_type: str, content: dict[str, Any], **route: str) -> str:
        msg = self.client.msg(msg_type, content)
        message = KernelMessage.from_dict(channel, msg)
        await self.bus.publish(kernel_in_channel(self.id), Envelope(message, **route).encode())
        return message.msg_id


@pytest_asyncio.fixture(loop_scope="module")
async def session(sandbox: Sandbox) -> AsyncIterator[BridgedSession]:
    bus = MemoryBus()
    pool = KernelPool(
        sandbox,
        bus,
        worker_id="w-bridge",
        idle_timeout_s=600,
        owner_ttl_s=30,
        input_timeout_s=INPUT_TIMEOUT_S,
    )
    here = BridgedSession(pool, bus, "s-bridge")
    subscription = await bus.subscribe(kernel_out_channel(here.id), here.on_out)
    try:
        yield here
    finally:
        await subscription.close()
        await pool.shutdown()
        await bus.close()


def stream_text(outcome: ExecutionOutcome) -> str:
    return "".join(o.get("text", "") for o in outcome.outputs if o["output_type"] == "stream")


async def test_a_widget_and_the_reply_reach_the_kernel_channel(session: BridgedSession) -> None:
    """An ipywidgets slider made by a run is published, tagged with the run, and so is
    the run's execute_reply, addressed to the run."""
    code = "import ipywidgets as widgets\nslider = widgets.IntSlider(value=4)\nslider"
    outcome = await session.run(code, tag="job-1")
    assert outcome.status is JobStatus.SUCCEEDED
    opened = await session.wait_for(
        lambda e: (
            e.message.msg_type == "comm_open"
            and e.message.content["data"]["state"].get("value") == 4
        )
    )
    assert opened.job == "job-1" and opened.to_conn is None
    reply = await session.wait_for(lambda e: e.to_job == "job-1")
    assert reply.message.msg_type == "execute_reply"
    assert reply.message.content["status"] == "ok"


async def test_a_request_is_answered_to_its_connection(session: BridgedSession) -> None:
    """A completion request comes back to the connection that sent it, as its parent."""
    await session.run("bridge_value = 1", tag="job-2")
    msg_id = await session.send(
        "shell", "complete_request", {"code": "bridge_v", "cursor_pos": 8}, conn="c1", user="u1"
    )
    reply = await session.wait_for(lambda e: e.message.parent_id == msg_id and bool(e.to_conn))
    assert reply.to_conn == "c1"
    assert "bridge_value" in reply.message.content["matches"]


async def test_input_takes_the_answer_of_the_user_who_ran_the_cell(session: BridgedSession) -> None:
    """input() is published for its user; another user's answer is ignored, theirs taken."""
    running = asyncio.ensure_future(session.run('print("got", input("? "))', tag="job-3"))
    asked = await session.wait_for(lambda e: e.message.msg_type == "input_request")
    assert asked.to_user == "u1" and asked.job == "job-3"
    await session.send("stdin", "input_reply", {"value": "wrong"}, user="u2")
    await session.send("stdin", "input_reply", {"value": "right"}, user="u1")
    outcome = await running
    assert stream_text(outcome) == "got right\n"


async def test_input_without_an_answer_gets_end_of_file(session: BridgedSession) -> None:
    """After the input timeout, input() raises EOFError and an error output says why."""
    outcome = await session.run("input()", tag="job-4")
    assert outcome.status is JobStatus.FAILED
    names = [o["ename"] for o in outcome.outputs if o["output_type"] == "error"]
    assert names == ["InputTimeout", "EOFError"]


async def test_a_reused_msg_id_cannot_take_another_connections_reply(
    session: BridgedSession,
) -> None:
    """Two connections send requests with one msg_id: each gets its own reply."""
    await session.run("reused_a = 1\nreused_b = 2", tag="job-5")
    msg = session.client.msg("complete_request", {"code": "reused_", "cursor_pos": 7})
    for conn in ("c1", "c2"):
        message = KernelMessage.from_dict("shell", msg)
        envelope = Envelope(message, conn=conn, user="u1")
        await session.bus.publish(kernel_in_channel(session.id), envelope.encode())
    msg_id = msg["header"]["msg_id"]
    for conn in ("c1", "c2"):
        reply = await session.wait_for(lambda e, c=conn: e.to_conn == c)  # type: ignore[misc]
        assert reply.message.parent_id == msg_id
        assert "reused_a" in reply.message.content["matches"]


CAPTURED = """
import ipywidgets as widgets
from IPython.display import display
out = widgets.Output()
display(out)
with out:
    print("inside")
print("outside")
"""


async def test_output_inside_an_output_widget_goes_into_the_widget(
    session: BridgedSession,
) -> None:
    """What a run prints in `with out:` becomes the widget's outputs, in the kernel too,
    and is echoed to every client; the cell keeps only what was printed outside."""
    outcome = await session.run(CAPTURED, tag="job-6")
    assert stream_text(outcome) == "outside\n"
    echoed = await session.wait_for(
        lambda e: (
            e.message.msg_type == "comm_msg"
            and e.message.content["data"].get("method") == "echo_update"
            and "outputs" in e.message.content["data"]["state"]
        )
    )
    inside = [{"output_type": "stream", "name": "stdout", "text": "inside\n"}]
    assert echoed.message.content["data"]["state"]["outputs"] == inside
    shown = await session.run("print(out.outputs)", tag="job-7")
    assert "inside" in stream_text(shown)


async def test_interact_shows_its_first_result_in_its_widget(session: BridgedSession) -> None:
    """interact's first call, made by the run, lands in interact's own Output widget."""
    code = "from ipywidgets import interact\nw = interact(lambda x: print(x * 2), x=21)"
    outcome = await session.run(code, tag="job-8")
    assert stream_text(outcome) == ""
    shown = await session.run("print(w.widget.out.outputs)", tag="job-9")
    assert "42" in stream_text(shown)


class GatedBus(MemoryBus):
    """A bus whose next publish of kernel output, once closed, waits for the gate to open
    (a busy Redis), and which notes how many messages each publish carried."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.batches: list[int] = []

    def close_gate(self) -> None:
        self.gate.clear()
        self.batches.clear()

    async def publish_many(self, channel: str, messages: Sequence[bytes]) -> None:
        self.batches.append(len(messages))
        if len(self.batches) == 1:
            await self.gate.wait()
        await super().publish_many(channel, messages)


async def test_output_waiting_for_the_bus_goes_out_together_in_order(
    process_sandbox: Sandbox,
) -> None:
    """What the kernel publishes while the bus is busy goes out in one publish, and the
    clients receive every message in the kernel's order."""
    bus = GatedBus()
    bus.gate.set()
    pool = KernelPool(process_sandbox, bus, worker_id="w-gated", idle_timeout_s=600, owner_ttl_s=30)
    here = BridgedSession(pool, bus, "s-gated")
    await bus.subscribe(kernel_out_channel(here.id), here.on_out)
    try:
        await here.run("1", tag="warm")  # the bridge starts with the kernel
        await here.wait_for(lambda e: e.message.content.get("execution_state") == "idle")
        here.out.clear()
        bus.close_gate()
        outcome = await here.run("print('a', flush=True); print('b')", tag="job-2")
        bus.gate.set()
        await here.wait_for(lambda e: e.message.content.get("execution_state") == "idle")
    finally:
        await pool.shutdown()
        await bus.close()
    assert stream_text(outcome) == "a\nb\n"
    kinds = [e.message.msg_type for e in here.out if e.message.channel == "iopub"]
    assert kinds[0] == "status" and kinds[1] == "execute_input" and kinds[-1] == "status"
    assert "stream" in kinds
    assert bus.batches[0] == 1 and bus.batches[1] == len(kinds) - 1
