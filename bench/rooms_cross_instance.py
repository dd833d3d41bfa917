"""Cross-instance delivery against single-instance delivery, in the same room and run.

Two server instances share Redis and a SQLite file. In each of a few rooms a writer on
instance 1 types 50 keystrokes a second; readers on instance 1 time the direct delivery,
readers on instance 2 the delivery through Redis pub/sub. Issue 11's budget: cross-instance
p99 at most 2 times single-instance p99.

    .venv/bin/python bench/rooms_cross_instance.py [--seconds 10] [--redis redis://...]
"""

from __future__ import annotations

import argparse
import asyncio

from rooms_common import DEFAULT_REDIS_URL, new_sessions, owner_of, servers
from rooms_latency import Room, measure, summary

from tests.client import Api
from tests.server import JupyterServer

ROOMS = 3
READERS_EACH_SIDE = 10


async def run(one: JupyterServer, two: JupyterServer, seconds: float, rate: float) -> None:
    async with Api(one.api) as api:
        owner = await owner_of(api)
        ids = await new_sessions(api, owner, ROOMS, kind="file", content="")
    token = owner.access_token
    local = [
        Room(one.room_url(s, token), [one.room_url(s, token)] * READERS_EACH_SIDE) for s in ids
    ]
    remote = [
        Room(one.room_url(s, token), [two.room_url(s, token)] * READERS_EACH_SIDE) for s in ids
    ]
    (single,) = await measure(local, rate=rate, seconds=seconds)
    (cross,) = await measure(remote, rate=rate, seconds=seconds)
    (s50, s99), (c50, c99) = summary(single), summary(cross)
    print(f"single instance   p50 {s50:6.2f} ms  p99 {s99:7.2f} ms  ({len(single)} deliveries)")
    print(f"through Redis     p50 {c50:6.2f} ms  p99 {c99:7.2f} ms  ({len(cross)} deliveries)")
    print(f"cross / single    x{c50 / s50:5.2f} p50  x{c99 / s99:5.2f} p99   (budget: x2 at p99)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=50.0, help="keystrokes a second")
    parser.add_argument("--redis", default=DEFAULT_REDIS_URL)
    args = parser.parse_args()
    with servers(2, redis_url=args.redis) as (one, two):
        asyncio.run(run(one, two, args.seconds, args.rate))


if __name__ == "__main__":
    main()
