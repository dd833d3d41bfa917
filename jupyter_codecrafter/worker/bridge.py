"""A session kernel's channel on the worker: Jupyter messages from clients on any server
instance to the kernel, and what the kernel says back, over the bus (``kernelwire.py``).

The bridge has a jupyter_client connection of its own beside the one that runs cells: its
requests (completion, inspection, comm messages...) get their replies on its own shell
socket. Everything the kernel publishes, cell outputs included, comes from the kernel's one
IOPub reader (``iopub.py``), and every client of the session receives it (ipywidgets'
Output capture and JupyterLab's futures need them).

A request keeps its msg_id, which the kernel may hand back in state (ipywidgets' Output
widget captures by it, through the sender's future), unless another connection or a run
already used that id: then it gets a fresh one, so nobody takes another's reply; the
client's own header goes back on the way out.

Servers filter by role before publishing here (``sessions/permissions.py``); the bridge
trusts them, except that an ``input()`` answer must come from the user who was asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from jupyter_client.asynchronous.client import AsyncKernelClient

from ..bus.base import Bus, Subscription
from ..errors import MalformedMessage
from ..execution.kernelwire import Envelope, KernelMessage, kernel_in_channel, kernel_out_channel
from ..rooms.replication import publish_notice
from ..utils import cancel_and_wait, new_id, utcnow
from .kernel import CONNECT_TIMEOUT_S, ExecutionOutcome, Kernel
from .sandbox._connection import make_client, wait_until_ready
from .stdin import InputAsker

log = logging.getLogger("jupyter_codecrafter.worker")

REMEMBERED_REQUESTS = 1024  # requests whose replies can still find their client
# IOPub messages waiting for the bus; past it they are dropped, as zmq drops past its
# high-water mark (what a lagging bus costs is the clients' view, never the run).
BACKLOG = 1000
# IOPub messages published together at most: what waited while the last ones went out.
PUBLISH_BATCH = 64


class KernelBridge:
    def __init__(self, bus: Bus, session_id: str, kernel: Kernel) -> None:
        self._bus = bus
        self._session_id = session_id
        self._kernel = kernel
        self._client: AsyncKernelClient | None = None
        self._pump: asyncio.Task[None] | None = None  # the shell replies' forwarding
        self._subscription: Subscription | None = None
        self._published: asyncio.Queue[dict[str, Any]] = asyncio.Queue(BACKLOG)
        self._unlisten: Callable[[], None] | None = None
        self._forwarding: asyncio.Task[None] | None = None
        # our msg_id -> (the client's connection, the header it sent)
        self._sent: OrderedDict[str, tuple[str | None, dict[str, Any]]] = OrderedDict()

    async def start(self) -> None:
        await self._connect()
        self._unlisten = self._kernel.listen(self._on_published)
        self._forwarding = asyncio.create_task(
            self._forward_published(), name="codecrafter-bridge-iopub"
        )
        channel = kernel_in_channel(self._session_id)
        self._subscription = await self._bus.subscribe(channel, self._on_in)

    async def reconnect(self) -> None:
        """Follow the kernel to its new sockets (after a restart)."""
        await self._disconnect()
        await self._connect()

    async def close(self) -> None:
        if self._subscription is not None:
            await self._subscription.close()
        if self._unlisten is not None:
            self._unlisten()
        if self._forwarding is not None:
            await cancel_and_wait([self._forwarding])
        await self._disconnect()

    def _on_published(self, msg: dict[str, Any]) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self._published.put_nowait(msg)

    def input_asker(self, tag: str, user_id: str | None, cell_id: str | None) -> InputAsker:
        """What a run calls with each input_request: it goes to ``user_id``'s clients."""
        return _Asker(self, tag, user_id, cell_id)

    async def publish_reply(self, tag: str, outcome: ExecutionOutcome) -> None:
        """The run's execute_reply, for a client that queued it through its channel; a run
        the kernel never answered (limits, a dead kernel) gets one saying why."""
        if outcome.reply is not None:
            message = KernelMessage.from_dict("shell", outcome.reply)
        else:
            message = _error_reply(outcome)
        await self.publish(Envelope(message, to_job=tag, job=tag))

    async def _connect(self) -> None:
        client = make_client(self._kernel.connection_info, iopub=False)
        try:
            await wait_until_ready(
                client, timeout_s=CONNECT_TIMEOUT_S, is_alive=self._kernel.check_alive, iopub=False
            )
        except BaseException:
            client.stop_channels()
            raise
        self._client = client
        self._pump = asyncio.create_task(
            self._forward_replies(client), name="codecrafter-bridge-shell"
        )

    async def _forward_replies(self, client: AsyncKernelClient) -> None:
        """The kernel's shell replies, each to the connection that sent the request."""
        channel = kernel_out_channel(self._session_id)
        while True:
            data = self._encoded("shell", await client.get_shell_msg())
            try:
                if data is not None:
                    await self._bus.publish(channel, data)
            except Exception:  # a bus hiccup must not end the forwarding
                log.warning("could not forward a kernel message", exc_info=True)

    async def _forward_published(self) -> None:
        """What the kernel publishes, all that waited meanwhile in one go: under a class's
        load the worker makes one bus round trip for several messages instead of each."""
        channel = kernel_out_channel(self._session_id)
        while True:
            waiting = [await self._published.get()]
            while not self._published.empty() and len(waiting) < PUBLISH_BATCH:
                waiting.append(self._published.get_nowait())
            encoded = [data for msg in waiting if (data := self._encoded("iopub", msg)) is not None]
            try:
                if encoded:
                    await self._bus.publish_many(channel, encoded)
            except Exception:  # a bus hiccup must not end the forwarding
                log.warning("could not forward kernel messages", exc_info=True)

    def _encoded(self, channel: str, msg: dict[str, Any]) -> bytes | None:
        """The message as it goes to the clients; None when it goes to nobody, or cannot."""
        try:
            envelope = self._outgoing(KernelMessage.from_dict(channel, msg))
            return None if envelope is None else envelope.encode()
        except Exception:  # one bad message costs itself only
            log.warning("could not forward a kernel message", exc_info=True)
            return None

    async def _disconnect(self) -> None:
        if self._pump is not None:
            await cancel_and_wait([self._pump])
            self._pump = None
        if self._client is not None:
            self._client.stop_channels()
            self._client = None

    def _outgoing(self, message: KernelMessage) -> Envelope | None:
        """The message addressed to the clients; None for a reply to nobody this bridge
        knows any more."""
        if message.channel == "iopub":
            self._kernel.output_widgets.observe(message.msg_type, message.content)
        sent = self._sent.get(message.parent_id)
        envelope = Envelope(message, job=self._kernel.tag_of(message.parent_id))
        if sent is not None:
            envelope.to_conn = sent[0] if message.channel != "iopub" else None
            message.parent_header = sent[1]
        elif message.channel != "iopub":
            return None
        return envelope

    async def _on_in(self, data: bytes) -> None:
        try:
            envelope = Envelope.decode(data)
        except MalformedMessage:
            log.warning("ignoring a malformed kernel channel message")
            return
        message = envelope.message
        if message.channel == "stdin":
            if message.msg_type == "input_reply":
                value = message.content.get("value", "")
                self._kernel.answer_input(envelope.user, value if isinstance(value, str) else "")
        elif message.channel == "shell" and self._client is not None:
            self._client.shell_channel.send(self._renamed(envelope))

    def _renamed(self, envelope: Envelope) -> dict[str, Any]:
        """The message under a msg_id only its connection uses, remembered with where it
        came from."""
        message = envelope.message
        ours = message.msg_id
        if not ours or self._taken(ours, envelope.conn):
            ours = new_id()
        self._sent[ours] = (envelope.conn, message.header)
        while len(self._sent) > REMEMBERED_REQUESTS:
            self._sent.popitem(last=False)
        renamed = {**message.to_dict(), "header": {**message.header, "msg_id": ours}}
        renamed["msg_id"] = ours
        return renamed

    def _taken(self, msg_id: str, conn: str | None) -> bool:
        sent = self._sent.get(msg_id)
        return (sent is not None and sent[0] != conn) or self._kernel.tag_of(msg_id) is not None

    async def publish(self, envelope: Envelope) -> None:
        await self._bus.publish(kernel_out_channel(self._session_id), envelope.encode())

    async def notify_room(self, payload: dict[str, Any]) -> None:
        """Best effort: a lost notice costs an indicator, never the run."""
        try:
            await publish_notice(self._bus, self._session_id, "worker", payload)
        except Exception:
            log.warning("could not tell the room of session %s", self._session_id)


class _Asker:
    """A run's input() requests: to the clients of the user who ran the cell, and a room
    notice ``{"type": "input", "waiting": true|false, "job_id", "cell_id", "user_id"}`` so
    every collaborator sees that the cell waits."""

    def __init__(
        self, bridge: KernelBridge, tag: str, user_id: str | None, cell_id: str | None
    ) -> None:
        self._bridge, self._tag, self._user_id = bridge, tag, user_id
        self._notice = {"type": "input", "job_id": tag, "cell_id": cell_id, "user_id": user_id}

    async def ask(self, msg: dict[str, Any]) -> None:
        message = KernelMessage.from_dict("stdin", msg)
        # Its parent is the worker's execute, unknown to a client that ran the cell with
        # POST /execute: this says which run and cell ask.
        message.metadata["codecrafter"] = {"job_id": self._tag, "cell_id": self._notice["cell_id"]}
        await self._bridge.notify_room({**self._notice, "waiting": True})
        await self._bridge.publish(Envelope(message, to_user=self._user_id or "", job=self._tag))

    async def settled(self) -> None:
        await self._bridge.notify_room({**self._notice, "waiting": False})


def _error_reply(outcome: ExecutionOutcome) -> KernelMessage:
    reason = outcome.error or str(outcome.status)
    header = {
        "msg_id": new_id(),
        "msg_type": "execute_reply",
        "username": "codecrafter",
        "session": "",
        "date": utcnow().isoformat(),
        "version": "5.3",
    }
    content = {
        "status": "error",
        "ename": str(outcome.status),
        "evalue": reason,
        "traceback": [reason],
        "execution_count": outcome.execution_count,
    }
    return KernelMessage("shell", header, content=content)
