"""Abuse of the room socket on a real server: whatever one connection sends, only that
connection is closed (with a clear code) or ignored, the others keep editing, and the
server's log shows no traceback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from pycrdt import Doc, Text
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.client import Account, Api
from tests.notebooks import code_cell, ipynb
from tests.rooms.live import (
    OPEN,
    LogWatch,
    awareness,
    message,
    outcome,
    raw_socket,
    sync_step1,
    sync_update,
)
from tests.server import JupyterServer, running, start_server
from tests.sessions.api_helpers import grant
from tests.yclient import YClient

SECRET = secrets.token_urlsafe(48)
SEED = int(os.environ.get("CODECRAFTER_FUZZ_SEED", random.randrange(2**32)))
RANDOM_FRAMES = 100
MAX_MESSAGE = 10 * 1024 * 1024  # tornado's default websocket_max_message_size

# Close codes that tell a client what it did: protocol error, binary only, policy,
# message too big, too slow.
CLEAR_CODES = {1002, 1003, 1008, 1009, 1013}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """A server of our own: the test reads its log, and a known secret signs odd tokens."""
    started = start_server(tmp_path_factory.mktemp("fuzz"), {"CODECRAFTER_JWT_SECRET": SECRET})
    with running(started):
        yield started


@dataclass
class Room:
    server: JupyterServer
    session_id: str
    owner: Account
    writer: Account

    def url(self, account: Account | None = None) -> str:
        return self.server.room_url(self.session_id, (account or self.writer).access_token)


@pytest.fixture
async def room(server: JupyterServer) -> AsyncIterator[Room]:
    """A 10 KB notebook, its owner and a writer."""
    async with Api(server.api) as api:
        owner, writer = await api.register(), await api.register()
        cells = [code_cell(f"c{i}", f"x{i} = {i}  # {'.' * 480}") for i in range(20)]
        session = await api.create_session(owner, content=ipynb(*cells))
        await grant(api, owner, session["id"], writer, "write")
        yield Room(server, session["id"], owner, writer)


@contextlib.asynccontextmanager
async def bystanders(room: Room) -> AsyncIterator[tuple[YClient, YClient]]:
    """Two people editing the notebook all along; on exit, both still see the same one."""
    async with YClient.connect(room.url(room.owner)) as ann, YClient.connect(room.url()) as bob:
        typing = asyncio.create_task(_type(ann))
        try:
            yield ann, bob
        finally:
            typing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await typing
        ann.notebook.ycells[0]["source"].insert(0, "!")
        await bob.wait_for(lambda: bob.notebook.get() == ann.notebook.get(), timeout_s=30)
        assert (ann.close_code, bob.close_code) == (None, None)


async def _type(client: YClient) -> None:
    while True:
        source = client.notebook.ycells[1]["source"]
        source.insert(len(source), ".")
        await asyncio.sleep(0.02)


async def attack(url: str, frames: list[bytes | str]) -> str | int:
    """Send ``frames`` on a connection of their own; how the server left it."""
    async with raw_socket(url) as ws:
        with contextlib.suppress(ConnectionClosed):  # closed before we finished sending
            for frame in frames:
                await ws.send(frame)
        return await outcome(ws)


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def crafted_frames() -> list[tuple[str, list[bytes | str], set[str | int]]]:
    """Hand-made malformed messages, each with the outcomes that are acceptable."""
    update = Doc()
    update.get("fuzz", type=Text).insert(0, "abc")
    valid = update.get_update()
    return [
        ("text frame", ["hello"], {1003}),
        ("empty frame", [b""], {1002}),
        ("truncated varint", [b"\x80"], {1002}),
        ("varint too long", [b"\xff" * 10 + b"\x01"], {1002}),
        ("unknown sync step", [b"\x00\x07\x00"], {1002}),
        ("truncated update", [b"\x00\x02\x05\x01\x02"], {1002}),
        ("undecodable update", [sync_update(b"\x07" * 40)], {1002}),
        ("cut valid update", [sync_update(valid[: len(valid) // 2])], {1002}),
        ("undecodable state vector", [sync_step1(b"\x05\x01")], {1002}),
        ("awareness not JSON", [awareness([(7, 1, "{nope")])], {1002}),
        ("awareness too deep", [awareness([(7, 1, deep_json(30_000))])], {1002}),
        ("awareness entry count", [awareness([(7, 1, "{}")], count=100_000)], {1002}),
        ("awareness not an object", [awareness([(7, 1, "[1, 2]")])], {OPEN}),
        ("awareness of many ids", [awareness([(i, 1, "{}") for i in range(1, 200)])], {OPEN}),
        ("awareness bad UTF-8", [message(1, b"\x01\x07\x01\x02\xff\xfe")], {1002}),
        ("control not JSON", [message(10, strings=("nope",))], {OPEN, 1002}),
        ("control too deep", [message(10, strings=(deep_json(30_000),))], {OPEN, 1002}),
        ("unknown types", [b"\x04", b"\x63\x01\x02", b"\x02\x00", b"\x0b"], {OPEN}),
        ("oversized frame", [b"\x00\x02" + b"\x00" * (MAX_MESSAGE + 1)], {1009}),
    ]


def random_frame(rng: random.Random, valid: bytes) -> bytes:
    """Random bytes, often behind a real message header so they reach the decoders."""
    body = rng.randbytes(rng.randint(0, 64))
    choice = rng.randrange(4)
    if choice == 0:
        return body
    if choice == 1:
        return rng.choice([b"\x00\x00", b"\x00\x01", b"\x00\x02", b"\x01", b"\x0a"]) + body
    if choice == 2:
        return rng.choice([sync_update, sync_step1])(body)
    mutated = bytearray(valid)
    for _ in range(rng.randint(1, 3)):
        mutated[rng.randrange(len(mutated))] = rng.randrange(256)
    return sync_update(bytes(mutated))


def flood_frames() -> list[tuple[str, list[bytes | str]]]:
    doc = Doc()
    text = doc.get("flood", type=Text)
    updates = []
    for index in range(2000):
        state = doc.get_state()
        text.insert(index, "f")
        updates.append(sync_update(doc.get_update(state)))
    cursors = [awareness([(4242, clock, f'{{"cursor": {clock}}}')]) for clock in range(1, 5001)]
    return [
        ("awareness flood", list(cursors)),
        ("typing flood", list(updates)),
        ("sync step 1 flood", [sync_step1()] * 2000),
        ("query awareness flood", [b"\x03"] * 5000),
    ]


async def test_malformed_frames_close_only_their_connection(room: Room) -> None:
    """Each malformed message closes its own connection with a clear code or is ignored;
    two people keep editing meanwhile, and nothing is logged as an error."""
    watch = LogWatch(room.server)
    outcomes = {}
    async with bystanders(room):
        for name, frames, allowed in crafted_frames():
            outcomes[name] = (await attack(room.url(), frames), allowed)
    wrong = {name: got for name, (got, allowed) in outcomes.items() if got not in allowed}
    assert wrong == {}
    assert watch.problems() == []


async def test_random_frames_close_only_their_connection(room: Room) -> None:
    """Random and mutated frames (seed in the test's output) are ignored or answered with a
    clear close code; the room stays usable for everyone else."""
    print(f"CODECRAFTER_FUZZ_SEED={SEED}")
    rng = random.Random(SEED)
    doc = Doc()
    doc.get("fuzz", type=Text).insert(0, "valid update to mutate")
    valid = doc.get_update()
    watch = LogWatch(room.server)
    seen: dict[str | int, int] = {}
    async with bystanders(room):
        for _ in range(RANDOM_FRAMES):
            result = await attack(room.url(), [random_frame(rng, valid)])
            seen[result] = seen.get(result, 0) + 1
    assert set(seen) <= {OPEN} | CLEAR_CODES, seen
    assert watch.problems() == []


async def test_floods_cost_only_the_flooder(room: Room) -> None:
    """A client flooding the room with valid messages is served or closed with a clear
    code; nobody else is dropped and edits keep flowing."""
    watch = LogWatch(room.server)
    results = {}
    async with bystanders(room):
        for name, frames in flood_frames():
            results[name] = await attack(room.url(), frames)
    assert {name: r for name, r in results.items() if r not in {OPEN} | CLEAR_CODES} == {}
    assert watch.problems() == []


async def test_slow_reader_is_dropped_quietly(room: Room) -> None:
    """A client that stops reading is closed with 1013 once it is far behind, others are
    not held up, and the server logs no traceback for it."""
    watch = LogWatch(room.server)
    async with bystanders(room), connect(room.url(), max_size=None, max_queue=1) as sloth:
        for _ in range(5000):  # each answered with the whole notebook: 50 MB in all
            await sloth.send(sync_step1())
        await asyncio.sleep(3)  # not reading meanwhile
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(60):
                async for _ in sloth:
                    pass
        assert sloth.close_code == 1013
    assert "too slow" in watch.text()
    assert watch.problems() == []


def forged(user_id: str, *, secret: str = SECRET, expired: bool = False) -> str:
    now = datetime.now(UTC) - (timedelta(hours=1) if expired else timedelta())
    claims = {"sub": user_id, "role": "user", "jti": "x", "iat": now, "typ": "access"}
    return jwt.encode({**claims, "exp": now + timedelta(minutes=5)}, secret, algorithm="HS256")


async def test_bad_tokens_never_open_a_socket(room: Room) -> None:
    """Missing, garbage, forged, expired and unrelated tokens are refused before the
    upgrade with 401 (or 404 for a session the user may not see)."""
    async with Api(room.server.api) as api:
        stranger = await api.register()
    user_id = room.writer.user["id"]
    base = f"ws://127.0.0.1:{room.server.port}/api/codecrafter/rooms/{room.session_id}"
    cases = {
        "none": (base, {}, 401),
        "garbage": (f"{base}?token=garbage", {}, 401),
        "other secret": (f"{base}?token={forged(user_id, secret='x' * 48)}", {}, 401),
        "expired": (f"{base}?token={forged(user_id, expired=True)}", {}, 401),
        "bad header": (base, {"Authorization": "Bearer nope"}, 401),
        "stranger": (f"{base}?token={stranger.access_token}", {}, 404),
    }
    watch = LogWatch(room.server)
    statuses = {}
    for name, (url, headers, _) in cases.items():
        with pytest.raises(InvalidStatus) as refused:
            async with connect(url, additional_headers=headers):
                pass
        statuses[name] = refused.value.response.status_code
    assert statuses == {name: status for name, (_, _, status) in cases.items()}
    assert watch.problems() == []
