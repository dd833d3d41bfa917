"""A private copy of a room's document, where the output writer makes each change before
anybody sees it: the change is stored first, then applied to the room (see writer.py).

A copy serves one loaded room for as long as it lives. A new copy costs a full copy of the
document and adds a Yjs client to its state vector for good, which every later update
decodes: one per run would make a notebook's thousandth run slower than its first.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

from jupyter_ydoc import YNotebook
from pycrdt import Doc, TransactionEvent

from ..rooms.documents import wrap
from ..store.records import SessionKind


class Scratch:
    def __init__(self, room: Doc[Any]) -> None:
        self._room = weakref.ref(room)
        self.doc: Doc[Any] = Doc()
        notebook = wrap(SessionKind.NOTEBOOK, self.doc)
        assert isinstance(notebook, YNotebook)
        self.notebook = notebook
        self._updates: list[bytes] = []
        self.doc.observe(self._on_transaction)

    def _on_transaction(self, event: TransactionEvent) -> None:
        self._updates.append(event.update)

    def serves(self, room: Doc[Any]) -> bool:
        """Whether this is the copy of ``room`` (a room loaded again needs a new one)."""
        return self._room() is room

    @property
    def stale(self) -> bool:
        """Whether its room was unloaded."""
        return self._room() is None

    def sync(self, room: Doc[Any]) -> None:
        """Take in what the room has and this copy lacks."""
        self.doc.apply_update(room.get_update(self.doc.get_state()))

    def change(self, edit: Callable[[YNotebook], bool]) -> bytes | None:
        """Make ``edit``'s changes in one transaction; that transaction's update (None when
        ``edit`` found nothing to change)."""
        self._updates.clear()
        with self.doc.transaction():
            changed = edit(self.notebook)
        updates, self._updates = self._updates, []
        return updates[-1] if changed and updates else None
