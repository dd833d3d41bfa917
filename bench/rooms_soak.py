"""RSS of a server over an edit soak with clients coming and going.

One server (embedded mode), 20 notebook sessions, 40 simulated students: each joins a random
session, types and erases a few keystrokes a second for 5 to 20 s, leaves, and comes back a
moment later. The server's RSS is sampled every 10 s once a warm-up has passed; issue 11 asks it
to stay flat (within 10 %) over 10 minutes.

    .venv/bin/python bench/rooms_soak.py [--minutes 1]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

import psutil
from rooms_common import new_sessions, owner_of, servers

from tests.client import Api
from tests.server import JupyterServer
from tests.yclient import YClient

SESSIONS = 20
STUDENTS = 40
SAMPLE_EVERY_S = 10.0


async def student(urls: list[str], rng: random.Random, until: float) -> None:
    while time.monotonic() < until:
        async with YClient.connect(rng.choice(urls), timeout_s=60) as client:
            stop = time.monotonic() + rng.uniform(5, 20)
            while time.monotonic() < min(stop, until):
                cells = client.notebook.ycells
                source = cells[rng.randrange(len(cells))]["source"]
                # As much erased as typed: the documents stay the same size, so RSS that
                # grows is the server's, not the notebooks'.
                if rng.random() < 0.5 and len(source) > 0:
                    del source[len(source) - 1]
                else:
                    source.insert(len(source), rng.choice("abcdef =\n"))
                await asyncio.sleep(rng.uniform(0.1, 0.5))
        await asyncio.sleep(rng.uniform(0, 2))


async def sample(server: JupyterServer, every_s: float, until: float) -> list[int]:
    process = psutil.Process(server.proc.pid)
    samples = []
    while time.monotonic() < until:
        await asyncio.sleep(every_s)
        samples.append(int(process.memory_info().rss))
    return samples


async def soak(server: JupyterServer, minutes: float) -> list[int]:
    async with Api(server.api) as api:
        owner = await owner_of(api)
        ids = await new_sessions(api, owner, SESSIONS)
    urls = [server.room_url(sid, owner.access_token) for sid in ids]
    warm_up = min(60.0, minutes * 60 / 4)
    until = time.monotonic() + warm_up + minutes * 60
    tasks = [asyncio.create_task(student(urls, random.Random(i), until)) for i in range(STUDENTS)]
    await asyncio.sleep(warm_up)
    samples = await sample(server, SAMPLE_EVERY_S, until)
    await asyncio.gather(*tasks)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    args = parser.parse_args()
    with servers(1, redis_url=None) as (server,):
        samples = asyncio.run(soak(server, args.minutes))
    first, last, top = samples[0], samples[-1], max(samples)
    mib = 1024 * 1024
    step = max(1, len(samples) // 10)
    print(
        "RSS (MiB) every", step * SAMPLE_EVERY_S, "s:", [round(x / mib, 1) for x in samples[::step]]
    )
    print(
        f"RSS over {args.minutes:g} min ({len(samples)} samples): first {first / mib:.1f} MiB, "
        f"last {last / mib:.1f} MiB, max {top / mib:.1f} MiB; "
        f"last/first x{last / first:.3f}, max/first x{top / first:.3f} (budget: within 10 %)"
    )


if __name__ == "__main__":
    main()
