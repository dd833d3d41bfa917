"""A second process for the store tests: ``python -m tests.store.worker URL COUNT``.

Opens the store, prints ``ready``, waits for a line on stdin (so every process starts at
once), then appends COUNT updates to document "doc" and tries COUNT claims of invite
"shared"; prints the sequence numbers and the claims won as JSON.
"""

from __future__ import annotations

import asyncio
import json
import sys

from jupyter_codecrafter.store import Store, create_store
from jupyter_codecrafter.utils import utcnow

DOCUMENT = "doc"
INVITE = "shared"


async def hammer(store: Store, count: int) -> tuple[list[int], int]:
    """Append ``count`` updates and claim the invite ``count`` times, all at once; the
    sequence numbers received and the number of claims won."""
    appends = [store.documents.append(DOCUMENT, f"{i}".encode()) for i in range(count)]
    claims = [store.invites.claim(INVITE, utcnow()) for _ in range(count)]
    seqs, won = await asyncio.gather(asyncio.gather(*appends), asyncio.gather(*claims))
    return list(seqs), sum(invite is not None for invite in won)


async def main(url: str, count: int) -> None:
    store = create_store(url)
    await store.open()
    try:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)
        seqs, claims = await hammer(store, count)
        print(json.dumps({"seqs": seqs, "claims": claims}), flush=True)
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
