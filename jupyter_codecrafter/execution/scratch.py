"""A private copy of a room's document, where the output writer makes each change before
anybody sees it: the change is stored first, then applied to the room (see writer.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jupyter_ydoc import YNotebook
from pycrdt import Doc, TransactionEvent

from ..rooms.documents import wrap
from ..store.records import SessionKind


class Scratch:
    def __init__(self) -> None:
        self.doc: Doc[Any] = Doc()
        notebook = wrap(SessionKind.NOTEBOOK, self.doc)
        assert isinstance(notebook, YNotebook)
        self.notebook = notebook
        self._updates: list[bytes] = []
        self.doc.observe(self._on_transaction)

    def _on_transaction(self, event: TransactionEvent) -> None:
        self._updates.append(event.update)

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
