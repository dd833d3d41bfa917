"""Memory per idle loaded room: a 20-cell notebook with one client connected.

Starts one server (embedded mode, or with ``--redis`` as one instance of a scaled
deployment), opens a first batch of rooms so one-time costs are paid, then opens ``--rooms``
more, one client each, and divides the server's RSS growth by their number. The budget
(issue 11) is 48 KiB a room. Run it with ``.venv/bin/python bench/rooms_memory.py``.
"""

from __future__ import annotations

import argparse
import asyncio

import psutil
from rooms_common import DEFAULT_REDIS_URL, clients, new_sessions, owner_of, servers

from tests.client import Api
from tests.server import JupyterServer

WARM_UP_ROOMS = 30
SETTLE_S = 3.0
BUDGET_KIB = 48


def rss(server: JupyterServer) -> int:
    return int(psutil.Process(server.proc.pid).memory_info().rss)


async def measure(server: JupyterServer, rooms: int) -> float:
    """KiB of server RSS per room opened after the warm-up."""
    async with Api(server.api) as api:
        owner = await owner_of(api)
        warm = await new_sessions(api, owner, WARM_UP_ROOMS)
        measured = await new_sessions(api, owner, rooms)
        url = owner.access_token
        async with clients([server.room_url(sid, url) for sid in warm]):
            await asyncio.sleep(SETTLE_S)
            before = rss(server)
            async with clients([server.room_url(sid, url) for sid in measured]):
                await asyncio.sleep(SETTLE_S)
                after = rss(server)
    return (after - before) / rooms / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", type=int, default=300)
    parser.add_argument("--redis", nargs="?", const=DEFAULT_REDIS_URL, default=None)
    args = parser.parse_args()
    with servers(1, redis_url=args.redis) as (server,):
        per_room = asyncio.run(measure(server, args.rooms))
    mode = "with Redis" if args.redis else "embedded"
    ratio = per_room / BUDGET_KIB
    print(
        f"idle 20-cell room, one client ({mode}, {args.rooms} rooms): "
        f"{per_room:6.1f} KiB per room   x{ratio:4.2f} of the {BUDGET_KIB} KiB budget"
    )


if __name__ == "__main__":
    main()
