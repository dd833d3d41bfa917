"""Opening, sharing and closing a store; several processes on one database."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from jupyter_codecrafter.errors import StoreError
from jupyter_codecrafter.store import Store, create_store
from jupyter_codecrafter.store.mongo import MongoStore
from jupyter_codecrafter.store.sqlite import SQLiteStore

from . import factories as f
from .conftest import OpenStore
from .worker import DOCUMENT, INVITE, hammer

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_create_store_picks_the_backend_from_the_url() -> None:
    """The URL scheme selects SQLite or MongoDB; anything else is refused."""
    assert isinstance(create_store("sqlite://:memory:"), SQLiteStore)
    assert isinstance(create_store("mongodb://127.0.0.1:1/x"), MongoStore)
    with pytest.raises(ValueError, match="postgres"):
        create_store("postgres://localhost/db")


async def test_reopening_keeps_data(store: Store, open_store: OpenStore) -> None:
    """Opening again, or opening a second store on the same database, keeps the data."""
    user = f.user()
    await store.users.create(user)
    await store.open()
    other = await open_store()
    assert await other.users.get(user.id) == user
    assert await store.users.get(user.id) == user


async def test_two_stores_see_each_others_writes(open_store: OpenStore) -> None:
    """What one process writes, another process on the same database reads at once."""
    first, second = await open_store(), await open_store()
    session = f.session("owner")
    await first.sessions.create(session)
    assert await second.sessions.get(session.id) == session
    await second.sessions.update(session.id, {"title": "Changed"})
    seen = await first.sessions.get(session.id)
    assert seen is not None
    assert seen.title == "Changed"
    seq = await second.documents.append(session.id, b"y")
    assert (await first.documents.load(session.id)).last_seq == seq


async def test_ping_answers_while_open_and_fails_after_close(store_url: str) -> None:
    """A health check passes on an open store and reports a store error once closed."""
    store = create_store(store_url)
    await store.open()
    await store.ping()
    await store.close()
    with pytest.raises(StoreError):
        await store.ping()


async def start_worker(url: str, count: int) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.store.worker", url, str(count),
        cwd=REPO_ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    assert await asyncio.wait_for(process.stdout.readline(), 60) == b"ready\n"
    return process


async def finish_worker(process: asyncio.subprocess.Process) -> tuple[list[int], int]:
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    result = json.loads(output)
    return list(result["seqs"]), int(result["claims"])


async def test_processes_appending_and_claiming_at_once_never_collide(
    store_url: str, store: Store
) -> None:
    """Three processes appending to one document and claiming one invite at the same
    moment get distinct sequence numbers 1..N and exactly max_uses claims between them."""
    await store.invites.create(f.invite("s1", code=INVITE, max_uses=7))
    count = 30
    workers = [await start_worker(store_url, count) for _ in range(2)]
    for worker in workers:
        assert worker.stdin is not None
        worker.stdin.write(b"go\n")
        await worker.stdin.drain()
    results = [await hammer(store, count)] + [await finish_worker(w) for w in workers]
    assert sorted(seq for seqs, _ in results for seq in seqs) == list(range(1, 3 * count + 1))
    assert sum(claims for _, claims in results) == 7
    assert len((await store.documents.load(DOCUMENT)).updates) == 3 * count
