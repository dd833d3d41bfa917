"""What the store keeps of a document stays bounded by the document, not by its history."""

from __future__ import annotations

import json
import random
from typing import Any

from jupyter_codecrafter.store.base import Store
from tests.notebooks import code_cell, ipynb
from tests.rooms.conftest import Join, ManagerFactory
from tests.rooms.harness import Peer, new_session
from tests.waiting import eventually

EDITS = 10_000
CELLS = 20
CELL_CHARS = 500  # 20 cells of 500 characters: a 10 KB notebook
# Each backspace splits what was typed into more pieces the document must remember.
BACKSPACES = 0.10  # of keystrokes
CLICKS = 0.03  # keystrokes that move the cursor to a random place instead


class Typist:
    """One person typing: keystrokes at a cursor, backspaces, now and then a click elsewhere."""

    def __init__(self, peer: Peer, rng: random.Random, cell: int) -> None:
        self.peer, self.rng = peer, rng
        self.cell, self.cursor = cell, 0

    def keystroke(self) -> None:
        source = self.peer.notebook.ycells[self.cell]["source"]
        self.cursor = min(self.cursor, len(source))
        roll = self.rng.random()
        if roll < CLICKS:
            self.cell = self.rng.randrange(CELLS)
            self.cursor = self.rng.randint(0, len(self.peer.notebook.ycells[self.cell]["source"]))
        elif roll < CLICKS + BACKSPACES and self.cursor > 0:
            del source[self.cursor - 1]
            self.cursor -= 1
        else:
            source.insert(self.cursor, self.rng.choice("abcdefghij =()\n"))
            self.cursor += 1


async def test_ten_thousand_edits_store_at_most_four_times_the_notebook(
    store: Store, make_manager: ManagerFactory, join: Join
) -> None:
    """After 10,000 edits by two people to a 10 KB notebook and the room unloading, the
    store holds at most four times the size of the notebook's .ipynb."""
    manager = await make_manager(idle_unload_s=0.05)
    cells = [code_cell(f"c{i}", "y" * CELL_CHARS) for i in range(CELLS)]
    session_id = await new_session(store, ipynb(*cells))
    peers = [await join(manager, session_id, name=name) for name in ("ann", "bob")]
    typists = [Typist(peer, random.Random(seed), cell=seed) for seed, peer in enumerate(peers)]
    for index in range(EDITS):
        typists[index % 2].keystroke()
        if index % 100 == 99:
            for peer in peers:
                await peer.settle()
    final: dict[str, Any] = peers[0].notebook.get()
    for peer in peers:
        await peer.leave()
    await eventually(lambda: _unloaded(manager, session_id))
    # The room leaves the manager before its last snapshot is written: wait for that.
    await eventually(lambda: _snapshot_only(store, session_id))

    state = await store.documents.load(session_id)
    stored = len(state.snapshot or b"") + sum(map(len, state.updates))
    notebook = len(json.dumps(final))
    assert stored <= 4 * notebook, f"{stored} bytes stored for a {notebook}-byte notebook"


async def _unloaded(manager: Any, session_id: str) -> bool:
    return manager.room(session_id) is None


async def _snapshot_only(store: Store, session_id: str) -> bool:
    state = await store.documents.load(session_id)
    return state.snapshot is not None and not state.updates
