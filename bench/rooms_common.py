"""What the room benchmarks share: servers, a classroom notebook, clients, percentiles.

Servers are real ``jupyter server`` processes (tests/server.py), clients are pycrdt
y-websocket clients (tests/yclient.py) in the benchmark's own process, so the server's
figures (latency, RSS) are not mixed with the clients'.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.client import Account, Api
from tests.notebooks import code_cell, ipynb
from tests.server import JupyterServer, running, start_server
from tests.yclient import YClient

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"


def classroom_notebook(cells: int = 20) -> dict[str, Any]:
    """A lesson as a teacher writes it: markdown and code cells of a few lines each."""
    made = []
    for index in range(cells):
        if index % 2:
            made.append(code_cell(f"c{index}", f"values = [n * {index} for n in range(10)]\n" * 3))
        else:
            text = f"## Step {index}\nExplain what the next cell does.\n"
            made.append(
                {"cell_type": "markdown", "id": f"m{index}", "source": text, "metadata": {}}
            )
    return ipynb(*made)


def shared_env(store_url: str, redis_url: str | None) -> dict[str, str]:
    """Settings for instances sharing one store (and Redis, when given)."""
    env = {
        "CODECRAFTER_STORE_URL": store_url,
        "CODECRAFTER_JWT_SECRET": secrets.token_urlsafe(48),
        "CODECRAFTER_NAMESPACE": f"bench{uuid.uuid4().hex[:8]}.",
    }
    if redis_url:
        env["CODECRAFTER_REDIS_URL"] = redis_url
    return env


@contextlib.contextmanager
def servers(count: int, *, redis_url: str | None) -> Iterator[list[JupyterServer]]:
    """``count`` server instances on one SQLite store (and Redis when given)."""
    workdir = Path(tempfile.mkdtemp(prefix="ccrooms"))
    env = shared_env(f"sqlite:///{workdir / 'shared.db'}", redis_url)
    started = [start_server(workdir / f"server{i}", env) for i in range(count)]
    with running(*started):
        yield started


async def owner_of(api: Api) -> Account:
    return await api.register()


async def new_sessions(api: Api, owner: Account, count: int, **fields: Any) -> list[str]:
    """``count`` notebook sessions seeded with the classroom notebook."""
    content = fields.pop("content", classroom_notebook())
    made = []
    for _ in range(count):
        session = await api.create_session(owner, content=content, **fields)
        made.append(str(session["id"]))
    return made


@contextlib.asynccontextmanager
async def clients(urls: list[str]) -> AsyncIterator[list[YClient]]:
    """One synced client per URL, opened a few at a time, closed at the end."""
    async with contextlib.AsyncExitStack() as stack:
        opened: list[YClient] = []
        for start in range(0, len(urls), 20):
            batch = urls[start : start + 20]
            opened += await asyncio.gather(
                *(stack.enter_async_context(YClient.connect(url, timeout_s=60)) for url in batch)
            )
        yield opened


def percentile(samples: list[float], fraction: float) -> float:
    """The ``fraction`` quantile (inclusive method), e.g. 0.99."""
    if len(samples) == 1:
        return samples[0]
    cuts = statistics.quantiles(samples, n=1000, method="inclusive")
    return cuts[max(0, min(len(cuts) - 1, round(fraction * 1000) - 1))]
