"""A session's kernel channel on this server instance: its clients here (WebSockets speaking
Jupyter's kernel protocol) and the bus to the worker that owns the session's kernel, whose
bridge (``worker/bridge.py``) speaks to the kernel (``kernelwire.py`` has the envelopes).

What a client sends is checked against its role at that moment (a role change applies to
its next message; a removal, announced to the room, closes the channel at once), then:

- ``execute_request`` (writers) becomes a run of the session, a job as from the Run button:
  the server writes its outputs into the shared notebook once (into the cell named by the
  request's ``cellId`` metadata, if the notebook has it), and this client gets the run's
  messages with its own request as their parent, and its execute_reply;
- ``interrupt_request`` (control) interrupts the kernel, ``shutdown_request`` with
  ``restart`` restarts it; one client never shuts the shared kernel down;
- other allowed messages go to the kernel; while there is none, this instance answers
  requests itself (``kernelreplies.py``);
- a refused request gets an error reply; other refused messages are dropped.

From the kernel, IOPub messages (outputs, status, comm messages) reach every client of the
session, replies only the client that asked, and ``input_request`` only the clients of the
user who ran the cell.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from ..bus.base import Bus, Subscription
from ..errors import BadRequest, CodeCrafterError, MalformedMessage, PayloadTooLarge
from ..ratelimit import RateLimiter
from ..rooms.protocol import CLOSE_GOING_AWAY, CLOSE_REMOVED, ProtocolError
from ..rooms.replication import Kind, decode_envelope, room_channel
from ..sessions.permissions import Action, kernel_message_allowed
from ..sessions.service import SessionService
from ..store.records import SessionRole, User
from ..utils import new_id
from .control import KernelState
from .kernelreplies import answered, error_content, without_kernel
from .kernels import KernelControl
from .kernelwire import Envelope, KernelMessage, kernel_in_channel, kernel_out_channel
from .service import ExecutionService

log = logging.getLogger("jupyter_codecrafter.execution")

# Sends one message to a client without waiting (the transport queues it).
ChannelSend = Callable[[KernelMessage], None]
# Closes a client's connection with a WebSocket close code and a reason.
ChannelClose = Callable[[int, str], None]

EXECUTE_RATE_LIMIT = "execute"  # the rule POST /execute counts against
REMEMBERED_RUNS = 256  # runs per client whose late messages still get its header
NO_BRIDGE = (KernelState.NONE, KernelState.DEAD, KernelState.STARTING)
# The execute_request's metadata key naming its notebook cell (JupyterLab sends it).
CELL_ID_KEYS = ("cellId", "cell_id")
MAX_CELL_ID = 128  # as the REST API's cell ids
CHANNEL_CELL_ID = "kernel-channel"  # runs that name no cell: kept in the job history


@dataclass(eq=False)
class ChannelClient:
    """One client of a session's kernel channel on this instance."""

    user: User
    session_id: str
    language: str
    send: ChannelSend
    close: ChannelClose
    role: SessionRole
    id: str = field(default_factory=new_id)
    # job id -> header of the execute_request that queued the run
    runs: OrderedDict[str, dict[str, Any]] = field(default_factory=OrderedDict)

    def remember_run(self, job_id: str, header: dict[str, Any]) -> None:
        self.runs[job_id] = header
        while len(self.runs) > REMEMBERED_RUNS:
            self.runs.popitem(last=False)

    def deliver(self, envelope: Envelope) -> None:
        """Send what the kernel said, if it is for this client."""
        if envelope.to_conn is not None and envelope.to_conn != self.id:
            return
        if envelope.to_user is not None and envelope.to_user != self.user.id:
            return
        header = self.runs.get(envelope.job) if envelope.job else None
        if envelope.to_job is not None and header is None:
            return
        message = envelope.message
        self.send(message if header is None else replace(message, parent_header=header))


class KernelChannels:
    def __init__(
        self,
        bus: Bus,
        sessions: SessionService,
        execution: ExecutionService,
        kernels: KernelControl,
        limiter: RateLimiter,
        *,
        max_code_bytes: int,
    ) -> None:
        self._limiter = limiter
        self._max_code_bytes = max_code_bytes
        self._bus = bus
        self._sessions = sessions
        self._execution = execution
        self._kernels = kernels
        self._clients: dict[str, set[ChannelClient]] = {}
        self._subscriptions: dict[str, list[Subscription]] = {}
        self._subscribing = asyncio.Lock()

    async def connect(
        self, user: User, session_id: str, send: ChannelSend, close: ChannelClose
    ) -> ChannelClient:
        """A client of the session's kernel channel (anyone who can view the session)."""
        session, role = await self._sessions.authorize(user, session_id, Action.VIEW)
        client = ChannelClient(user, session.id, session.language, send, close, role)
        async with self._subscribing:
            if session.id not in self._subscriptions:
                self._subscriptions[session.id] = [
                    await self._bus.subscribe(
                        kernel_out_channel(session.id), self._from_kernel(session.id)
                    ),
                    await self._bus.subscribe(room_channel(session.id), self._room(session.id)),
                ]
            self._clients.setdefault(session.id, set()).add(client)
        return client

    async def disconnect(self, client: ChannelClient) -> None:
        async with self._subscribing:
            clients = self._clients.get(client.session_id, set())
            clients.discard(client)
            if clients:
                return
            self._clients.pop(client.session_id, None)
            subscriptions = self._subscriptions.pop(client.session_id, [])
        for subscription in subscriptions:
            await subscription.close()

    async def receive(self, client: ChannelClient, message: KernelMessage) -> None:
        """Handle one message from the client. NotFound: its access to the session is gone
        (the caller closes the connection)."""
        _, client.role = await self._sessions.authorize(client.user, client.session_id, Action.VIEW)
        if not kernel_message_allowed(
            client.role, message.channel, message.msg_type, message.content
        ):
            self._refuse(client, message)
        elif message.msg_type == "execute_request":
            await self._run(client, message)
        elif message.channel == "control":
            await self._control(client, message)
        else:
            await self._to_kernel(client, message)

    def _refuse(self, client: ChannelClient, message: KernelMessage) -> None:
        log.debug("dropped %s from a %s", message.msg_type, client.role)
        if message.msg_type.endswith("_request"):
            text = f"Your role ({client.role}) does not allow {message.msg_type}."
            self._answer(client, message, error_content("forbidden", text))

    async def _run(self, client: ChannelClient, message: KernelMessage) -> None:
        code, job_id = message.content.get("code"), new_id()
        client.remember_run(job_id, message.header)
        try:
            # The same budget as POST /execute: a socket is no way around it.
            await self._limiter.hit(EXECUTE_RATE_LIMIT, client.user.id)
            await self._execution.run_cell(
                client.user, client.session_id, _cell_id(message), self._code(code), job_id=job_id
            )
        except CodeCrafterError as exc:
            client.runs.pop(job_id, None)
            self._answer(client, message, error_content(exc.code, exc.message))

    def _code(self, code: object) -> str:
        """The code of an execute_request, checked as POST /execute checks it."""
        if not isinstance(code, str):
            raise BadRequest("execute_request needs content.code, a string.")
        if len(code.encode()) > self._max_code_bytes:
            raise PayloadTooLarge(
                "The code is too large.", details={"max_bytes": self._max_code_bytes}
            )
        return code

    async def _control(self, client: ChannelClient, message: KernelMessage) -> None:
        content: dict[str, Any] = {"status": "ok"}
        try:
            if message.msg_type == "interrupt_request":
                await self._kernels.interrupt(client.user, client.session_id)
            elif message.content.get("restart") is True:
                await self._kernels.restart(client.user, client.session_id)
                content["restart"] = True
            else:
                text = "The session's kernel is shared: a client restarts it, never stops it."
                content = error_content("shared_kernel", text)
        except CodeCrafterError as exc:
            content = error_content(exc.code, exc.message)
        self._answer(client, message, content)

    async def _to_kernel(self, client: ChannelClient, message: KernelMessage) -> None:
        if (await self._kernels.current(client.session_id)).state in NO_BRIDGE:
            content = without_kernel(message, client.language)
            if content is not None:
                self._answer(client, message, content)
            return
        envelope = Envelope(message, conn=client.id, user=client.user.id)
        await self._bus.publish(kernel_in_channel(client.session_id), envelope.encode())

    @staticmethod
    def _answer(client: ChannelClient, request: KernelMessage, content: dict[str, Any]) -> None:
        for message in answered(request, content):
            client.send(message)

    def _from_kernel(self, session_id: str) -> Callable[[bytes], Any]:
        async def deliver(data: bytes) -> None:
            try:
                envelope = Envelope.decode(data)
            except MalformedMessage:
                log.warning("ignoring a malformed message from the kernel of %s", session_id)
                return
            for client in list(self._clients.get(session_id, ())):
                client.deliver(envelope)

        return deliver

    def _room(self, session_id: str) -> Callable[[bytes], Any]:
        """Role changes and closes announced to the session's room apply here too."""

        async def follow(data: bytes) -> None:
            try:
                kind, _, parts = decode_envelope(data)
                if kind not in (Kind.ROLE, Kind.CLOSE):
                    return
                payload = json.loads(parts[0])
            except (ProtocolError, ValueError, IndexError):
                return
            for client in list(self._clients.get(session_id, ())):
                _apply_room_change(client, kind, payload)

        return follow


def _apply_room_change(client: ChannelClient, kind: Kind, payload: dict[str, Any]) -> None:
    if kind is Kind.CLOSE:
        client.close(int(payload.get("code", CLOSE_GOING_AWAY)), str(payload.get("reason", "")))
    elif payload.get("user_id") == client.user.id:
        role = payload.get("role")
        if role is None:
            client.close(CLOSE_REMOVED, "Your access to this session was removed.")
        else:
            client.role = SessionRole(role)


def _cell_id(message: KernelMessage) -> str:
    for key in CELL_ID_KEYS:
        value = message.metadata.get(key)
        if isinstance(value, str) and 0 < len(value) <= MAX_CELL_ID:
            return value
    return CHANNEL_CELL_ID
