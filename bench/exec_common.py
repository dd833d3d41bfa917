"""What the execution benchmarks share: a deployment, sessions with a warm kernel, and
clients that time when a cell's output reaches their copy of the notebook.

``embedded`` is one ``jupyter server`` with its worker in process; ``scaled`` is two server
instances and one ``codecrafter-worker`` on RabbitMQ, Redis and one SQLite file. Both use
the Docker sandbox unless told otherwise.

The timed clients are bare, so the figures are the servers': each student's browser runs
on its own machine, while here they all share the servers' two cores. A POST through httpx
costs this process about 1 ms more than the same bytes on a socket (a status GET, p50 of
200: 2.2 against 1.3 ms); 30 of them at once delay the last one by tens of milliseconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rooms_latency import HELLO  # what a fresh y-websocket client sends
from websockets.asyncio.client import connect

from tests.client import Account, Api
from tests.notebooks import code_cell, ipynb
from tests.server import JupyterServer, running, start_server, start_worker

AMQP_URL = os.environ.get("CODECRAFTER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
REDIS_URL = os.environ.get("CODECRAFTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
CELL = "c1"


@contextlib.contextmanager
def deployment(mode: str, sandbox: str, **settings: str) -> Iterator[list[JupyterServer]]:
    """The servers of an ``embedded`` or ``scaled`` deployment (its worker runs meanwhile)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"ccbench-{mode}"))
    env = {"CODECRAFTER_SANDBOX": sandbox, "CODECRAFTER_RUNS_PER_USER": "0"}
    env.update({f"CODECRAFTER_{key.upper()}": value for key, value in settings.items()})
    if mode == "embedded":
        server = start_server(workdir / "server", env)
        with running(server):
            yield [server]
        return
    env.update(scaled_env(workdir))
    first, second = (start_server(workdir / f"server{i}", env) for i in (1, 2))
    worker = start_worker(workdir / "worker", env)
    with running(first, second, worker):
        yield [first, second]


def scaled_env(workdir: Path) -> dict[str, str]:
    return {
        "CODECRAFTER_BROKER_URL": AMQP_URL,
        "CODECRAFTER_REDIS_URL": REDIS_URL,
        "CODECRAFTER_STORE_URL": f"sqlite:///{workdir}/shared.db",
        "CODECRAFTER_JWT_SECRET": secrets.token_urlsafe(48),
        "CODECRAFTER_NAMESPACE": f"bench{uuid.uuid4().hex[:8]}.",
    }


async def warm_session(api: Api, account: Account) -> str:
    """A notebook session of ``account`` whose kernel is started (one cell has run)."""
    session = await api.create_session(account, content=ipynb(code_cell(CELL, "")))
    job = await api.run_cell(account, session["id"], CELL, "x = 1")
    done = await api.wait_job(account, job["id"], poll_s=0.01)
    assert done["status"] == "succeeded", done
    return str(session["id"])


class BarePoster:
    """A student's POSTs of cells to run, over one kept-alive HTTP/1.1 connection, written
    and read by hand (the request is the one httpx sends: JSON body, bearer token)."""

    def __init__(self, api_url: str, account: Account) -> None:
        url = urlsplit(api_url)
        self._address = (url.hostname or "127.0.0.1", url.port or 80)
        self._head = (
            f"POST {url.path}/execute HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Authorization: Bearer {account.access_token}\r\n"
            "Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
        )
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def connect(self) -> None:
        """Open the connection now: a student's browser has it open before Run is pressed."""
        if self._streams is None:
            self._streams = await asyncio.open_connection(*self._address)

    async def run_cell(self, session_id: str, cell_id: str, code: str) -> dict[str, Any]:
        """The accepted job, as ``Api.run_cell`` returns it."""
        await self.connect()
        assert self._streams is not None
        reader, writer = self._streams
        body = json.dumps({"session_id": session_id, "cell_id": cell_id, "code": code}).encode()
        writer.write(self._head.format(length=len(body)).encode() + body)
        status, reply = await _response(reader)
        assert status == 202, reply
        return dict(json.loads(reply)["job"])

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()


async def _response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
    fields = dict(line.lower().split(": ", 1) for line in head[1:] if ": " in line)
    return int(head[0].split()[1]), await reader.readexactly(int(fields["content-length"]))


MARK = re.compile(rb"@(\d+-\d+)@")


class Watchers:
    """Bare room sockets that note when each ``@<round>-<n>@`` first reaches each of them.

    They behave as a fresh y-websocket client on connect, then find marks in the updates
    they receive (an output's text travels as UTF-8), so this process spends little time
    per delivery and the figure is the servers': printed in a sandbox, seen on a socket.
    """

    def __init__(self) -> None:
        self.seen: dict[tuple[int, str], float] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._news = asyncio.Event()

    async def open(self, urls: list[str]) -> None:
        for start in range(0, len(urls), 20):  # a few at a time, as a class arrives
            opened = [
                self._opened(start + i, url) for i, url in enumerate(urls[start : start + 20])
            ]
            await asyncio.gather(*opened)

    def times(self, marks: list[str]) -> list[float]:
        """When each of ``marks`` reached each socket it reached so far."""
        wanted = set(marks)
        return [at for (_, mark), at in self.seen.items() if mark in wanted]

    async def until_seen(self, marks: list[str], sockets: int, timeout_s: float = 60) -> None:
        """Wait until each of ``marks`` reached ``sockets`` sockets."""
        async with asyncio.timeout(timeout_s):
            while len(self.times(marks)) < len(marks) * sockets:
                self._news.clear()
                await self._news.wait()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _opened(self, index: int, url: str) -> None:
        ready = asyncio.get_running_loop().create_future()
        self._tasks.append(asyncio.create_task(self._watch(index, url, ready)))
        await ready

    async def _watch(self, index: int, url: str, ready: asyncio.Future[None]) -> None:
        async with connect(url, max_size=None, max_queue=None, open_timeout=60) as ws:
            for hello in HELLO:
                await ws.send(hello)
            ready.set_result(None)
            async for message in ws:
                now = time.perf_counter()
                if isinstance(message, bytes) and message[:1] == b"\x00":
                    for mark in MARK.findall(message):
                        self.seen.setdefault((index, mark.decode()), now)
                        self._news.set()
