"""Clients of a RoomManager over an in-process transport.

:class:`MemoryConnection` is a real transport, not a mock: the server side implements the
rooms' ``Connection``; bytes travel in order through queues, each direction pumped by its
own task, to the y-websocket client protocol of ``tests/yclient.py`` and back to the
manager's ``RoomClient``, as a WebSocket would carry them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from jupyter_codecrafter.rooms.manager import Identity, RoomClient, RoomManager, initial_update
from jupyter_codecrafter.store.base import Store
from jupyter_codecrafter.store.records import SessionKind, SessionRole
from tests.yclient import YProtocolClient


class Closed:
    def __init__(self, code: int, reason: str) -> None:
        self.code, self.reason = code, reason


class MemoryConnection:
    """The server end of an in-process socket."""

    def __init__(self) -> None:
        self.to_client: asyncio.Queue[bytes | Closed] = asyncio.Queue()
        self.closed: Closed | None = None

    async def send(self, message: bytes) -> None:
        if self.closed is not None:
            raise ConnectionError("socket closed")
        self.to_client.put_nowait(message)

    async def close(self, code: int, reason: str) -> None:
        if self.closed is None:
            self.closed = Closed(code, reason)
            self.to_client.put_nowait(self.closed)


class StuckConnection(MemoryConnection):
    """A socket whose peer stopped reading: every send blocks until the socket closes."""

    def __init__(self) -> None:
        super().__init__()
        self._closing = asyncio.Event()

    async def send(self, message: bytes) -> None:
        await self._closing.wait()
        raise ConnectionError("socket closed")

    async def close(self, code: int, reason: str) -> None:
        self._closing.set()
        await super().close(code, reason)


def identity(name: str) -> Identity:
    return Identity(user_id=f"u-{name}", username=name, display_name=name.title())


class Peer:
    """One client connected to a manager through a MemoryConnection."""

    def __init__(self, conn: MemoryConnection, kind: SessionKind) -> None:
        self.conn = conn
        self._to_server: asyncio.Queue[bytes] = asyncio.Queue()
        self.client = YProtocolClient(kind, send=self._send)
        self.room_client: RoomClient | None = None
        self._pumps: list[asyncio.Task[None]] = []

    @classmethod
    async def join(
        cls,
        manager: RoomManager,
        session_id: str,
        *,
        name: str = "ann",
        role: SessionRole = SessionRole.WRITE,
        kind: SessionKind = SessionKind.NOTEBOOK,
        conn: MemoryConnection | None = None,
        prepare: Callable[[YProtocolClient], None] | None = None,
        wait_synced: bool = True,
    ) -> Peer:
        """Connect and (by default) wait for the sync handshake to finish."""
        peer = cls(conn or MemoryConnection(), kind)
        if prepare is not None:
            prepare(peer.client)  # e.g. a reconnecting client that already has the doc
        peer.room_client = await manager.connect(
            session_id, kind, peer.conn, identity=identity(name), role=role
        )
        peer._pumps = [
            asyncio.create_task(peer._pump_to_client()),
            asyncio.create_task(peer._pump_to_server()),
        ]
        peer.client.start()
        if wait_synced:
            await peer.client.synced()
        return peer

    @property
    def notebook(self) -> Any:
        return self.client.notebook

    async def _send(self, message: bytes) -> None:
        self._to_server.put_nowait(message)

    async def settle(self) -> None:
        """Wait until everything this client sent was handled by the server."""
        await self.client.flush()
        await self._to_server.join()

    async def leave(self) -> None:
        """Disconnect as y-websocket does: awareness null, then close the socket."""
        if self.conn.closed is None:
            self.client.send_raw(self.client.leave_message())
            await self.settle()
            assert self.room_client is not None
            await self.room_client.disconnect()
        await self.stop()

    async def stop(self) -> None:
        for task in self._pumps:
            task.cancel()
        for task in self._pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _pump_to_client(self) -> None:
        while True:
            item = await self.conn.to_client.get()
            if isinstance(item, Closed):
                await self.client.mark_closed(item.code, item.reason)
                return
            await self.client.handle(item)

    async def _pump_to_server(self) -> None:
        assert self.room_client is not None
        while True:
            message = await self._to_server.get()
            try:
                await self.room_client.receive(message)
            finally:
                self._to_server.task_done()


def new_session_id() -> str:
    return uuid.uuid4().hex


async def new_session(
    store: Store,
    content: dict[str, Any] | str | None = None,
    kind: SessionKind = SessionKind.NOTEBOOK,
) -> str:
    """A session's document as the session service creates it: one initial update."""
    session_id = new_session_id()
    await store.documents.append(session_id, initial_update(kind, content))
    return session_id


def sources(client: YProtocolClient) -> list[str]:
    return [cell["source"] for cell in client.notebook.get()["cells"]]
