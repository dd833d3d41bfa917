"""A y-websocket client for tests, built on pycrdt, speaking the protocol as Yjs does.

:class:`YProtocolClient` is the protocol alone (messages in, messages out), written from
pycrdt's own helpers rather than the server's code, so it tests the server honestly. It
behaves as y-websocket's ``WebsocketProvider``: on open it sends sync step 1 and its
awareness state; it answers sync step 1 with step 2 and a query-awareness with every
state; it sends every local document change as an update message; and it re-sends every
awareness change it sees, its own and others' (stock clients do).

:class:`YClient` runs it over a real WebSocket (the ``websockets`` library)::

    async with YClient.connect(url, kind=SessionKind.NOTEBOOK) as client:
        client.notebook.ycells[0]["source"].insert(0, "x = 1")
        await other.wait_for(lambda: ...)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from jupyter_ydoc import YNotebook, YUnicode
from pycrdt import (
    Awareness,
    Decoder,
    Doc,
    Encoder,
    TransactionEvent,
    YMessageType,
    YSyncMessageType,
    create_awareness_message,
    create_sync_message,
    create_update_message,
    handle_sync_message,
    read_message,
)
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from jupyter_codecrafter.store.records import SessionKind

log = logging.getLogger("tests.yclient")

MESSAGE_QUERY_AWARENESS = 3
MESSAGE_CONTROL = 10  # CodeCrafter's control message: varstring JSON


class YProtocolClient:
    """One client's document, awareness and protocol state, over any transport."""

    def __init__(self, kind: SessionKind, send: Callable[[bytes], Awaitable[None]]) -> None:
        self.kind = kind
        self.doc: Doc[Any] = Doc()
        self.document: YNotebook | YUnicode = (
            YNotebook(self.doc) if kind is SessionKind.NOTEBOOK else YUnicode(self.doc)
        )
        self.awareness = Awareness(self.doc)
        self.control_messages: list[dict[str, Any]] = []
        self.received: list[bytes] = []  # every message from the server, in order
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self._send = send
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._applying_remote = False
        self._synced = False
        self._changed = asyncio.Condition()
        self.doc.observe(self._on_doc_change)
        self.awareness.observe(self._on_awareness_change)

    # What tests use

    @property
    def notebook(self) -> YNotebook:
        assert isinstance(self.document, YNotebook), "not a notebook session"
        return self.document

    @property
    def text(self) -> YUnicode:
        assert isinstance(self.document, YUnicode), "not a file session"
        return self.document

    @property
    def client_id(self) -> int:
        return self.doc.client_id

    @property
    def is_synced(self) -> bool:
        return self._synced

    @property
    def is_closed(self) -> bool:
        return self.close_code is not None

    async def synced(self, timeout_s: float = 10) -> None:
        await self.wait_for(lambda: self._synced, timeout_s)

    async def closed(self, timeout_s: float = 10) -> int:
        """Wait until the server closes the connection; its close code."""
        await self.wait_for(lambda: self.close_code is not None, timeout_s)
        assert self.close_code is not None
        return self.close_code

    async def wait_for(self, predicate: Callable[[], bool], timeout_s: float = 10) -> None:
        """Wait until ``predicate()`` holds, checking again after each incoming message."""
        async with asyncio.timeout(timeout_s), self._changed:
            await self._changed.wait_for(predicate)

    def set_awareness(self, state: dict[str, Any] | None) -> None:
        self.awareness.set_local_state(state)

    def set_awareness_field(self, field: str, value: Any) -> None:
        self.awareness.set_local_state_field(field, value)

    def peers(self) -> dict[int, dict[str, Any]]:
        """Awareness states of the other clients."""
        return {cid: s for cid, s in self.awareness.states.items() if cid != self.client_id}

    def restore(self, update: bytes) -> None:
        """Apply state this client already had (a reconnect), without sending it."""
        self._applying_remote = True
        try:
            self.doc.apply_update(update)
        finally:
            self._applying_remote = False

    def send_raw(self, message: bytes) -> None:
        """Send any bytes, in order with the protocol's own messages."""
        self._outbox.put_nowait(message)

    async def flush(self) -> None:
        """Wait until every queued message was handed to the transport."""
        await self._outbox.join()

    # Transport side

    def start(self) -> None:
        """The connection is open: send what y-websocket sends on open."""
        self._sender = asyncio.create_task(self._send_loop())
        self.send_raw(create_sync_message(self.doc))
        if self.awareness.get_local_state() is not None:
            update = self.awareness.encode_awareness_update([self.client_id])
            self.send_raw(create_awareness_message(update))

    def leave_message(self) -> bytes:
        """What y-websocket sends on disconnect: our awareness state, null, same clock."""
        clock = self.awareness.meta.get(self.client_id, {}).get("clock", 0)
        encoder = Encoder()
        encoder.write_var_uint(1)
        encoder.write_var_uint(self.client_id)
        encoder.write_var_uint(clock)
        encoder.write_var_string("null")
        return create_awareness_message(encoder.to_bytes())

    async def handle(self, message: bytes) -> None:
        """One message from the server."""
        self.received.append(message)
        kind, body = message[0], message[1:]
        if kind == YMessageType.SYNC:
            self._handle_sync(body)
        elif kind == YMessageType.AWARENESS:
            self.awareness.apply_awareness_update(read_message(body), "remote")
        elif kind == MESSAGE_QUERY_AWARENESS:
            states = list(self.awareness.states)
            update = self.awareness.encode_awareness_update(states)
            self.send_raw(create_awareness_message(update))
        elif kind == MESSAGE_CONTROL:
            self.control_messages.append(json.loads(Decoder(body).read_var_string()))
        else:
            log.warning("Unable to compute message of type %d", kind)
        await self._notify()

    async def mark_closed(self, code: int, reason: str) -> None:
        self.close_code, self.close_reason = code, reason
        if self._sender is not None:
            self._sender.cancel()
        # As y-websocket: everyone else is gone from our view.
        others = [cid for cid in self.awareness.states if cid != self.client_id]
        self.awareness.remove_awareness_states(others, "connection closed")
        await self._notify()

    def _handle_sync(self, body: bytes) -> None:
        self._applying_remote = True
        try:
            reply = handle_sync_message(body, self.doc)
        finally:
            self._applying_remote = False
        if reply is not None:
            self.send_raw(reply)
        if body[0] == YSyncMessageType.SYNC_STEP2:
            self._synced = True

    def _on_doc_change(self, event: TransactionEvent) -> None:
        if not self._applying_remote:
            self.send_raw(create_update_message(event.update))

    def _on_awareness_change(self, topic: str, change: tuple[dict[str, Any], Any]) -> None:
        if topic != "update":
            return
        changes = change[0]
        ids = changes["added"] + changes["updated"] + changes["removed"]
        if self._sender is not None and not self.is_closed:
            self.send_raw(create_awareness_message(self.awareness.encode_awareness_update(ids)))

    async def _send_loop(self) -> None:
        while True:
            message = await self._outbox.get()
            try:
                await self._send(message)
            except Exception as exc:  # the transport is gone; the reader reports the close
                log.debug("send failed: %s", exc)
            finally:
                self._outbox.task_done()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


class YClient(YProtocolClient):
    """A y-websocket client over a real WebSocket."""

    def __init__(self, kind: SessionKind, ws: ClientConnection) -> None:
        super().__init__(kind, ws.send)
        self.ws = ws

    @classmethod
    @asynccontextmanager
    async def connect(
        cls,
        url: str,
        *,
        kind: SessionKind = SessionKind.NOTEBOOK,
        headers: dict[str, str] | None = None,
        timeout_s: float = 10,
    ) -> AsyncIterator[YClient]:
        """Open, sync (or see the server close the socket), yield; leave and close on exit."""
        async with ws_connect(url, additional_headers=headers, max_size=None) as ws:
            client = cls(kind, ws)
            reader = asyncio.create_task(client._read())
            client.start()
            try:
                await client.wait_for(lambda: client.is_synced or client.is_closed, timeout_s)
                yield client
            finally:
                if not client.is_closed:
                    client.send_raw(client.leave_message())
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(timeout_s):
                            await client.flush()
                await ws.close()
                with contextlib.suppress(asyncio.CancelledError):
                    await reader

    async def _read(self) -> None:
        try:
            async for message in self.ws:
                if isinstance(message, bytes):
                    await self.handle(message)
        except ConnectionClosed:
            pass
        code = self.ws.close_code if self.ws.close_code is not None else 1006
        await self.mark_closed(code, self.ws.close_reason or "")
