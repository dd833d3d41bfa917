"""A room's Y document, kept encoded while nobody edits it.

A loaded ``Doc`` costs far more than its encoding: about 70 KiB for a 20-cell notebook
whose full state is 5 KB, since every shared type and item is its own allocation. Most
rooms of a classroom are idle most of the time, so a room's document sleeps: it is kept as
its full state (one update), with its state vector and delete set, and only woken by what
changes it. What the y-websocket protocol and the re-sync ask of an idle document (state
vector, delete set, the diff a peer lacks, whether an update is new) is answered from the
encoding, so connecting, re-syncing and moving a cursor leave it asleep.

Updates that cannot be integrated yet (they depend on an update still on its way) are
pending inside a ``Doc`` and left out of ``get_update()``; they are kept aside and merged
into the encoding, so neither sleeping nor a snapshot loses them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, Subscription, TransactionEvent, get_update, merge_updates

from .yupdates import delete_set_update, has_news_for, is_noop_for, unintegrated

Observer = Callable[[TransactionEvent], None]


@dataclass(frozen=True, slots=True)
class Encoded:
    update: bytes  # the full state, pending updates included
    state: bytes  # state vector
    deletes: bytes  # delete set, as an update without structs


class SleepyDoc:
    def __init__(self, observer: Observer) -> None:
        self._observer = observer
        self._doc: Doc[Any] | None = None
        self._subscription: Subscription | None = None
        self._asleep: Encoded | None = None
        self._client_id: int | None = None  # kept, so the server's own clock goes on
        self._pending: list[bytes] = []

    @property
    def sleeping(self) -> bool:
        return self._asleep is not None

    @property
    def doc(self) -> Doc[Any]:
        """The live document (woken if needed)."""
        if self._doc is None:
            self._wake()
        assert self._doc is not None
        return self._doc

    def apply_update(self, update: bytes) -> None:
        """Apply ``update`` (ValueError when it cannot be decoded); one that changes nothing
        leaves a sleeping document asleep."""
        asleep = self._asleep
        if asleep is not None and is_noop_for(update, asleep.state, asleep.deletes):
            return
        doc = self.doc
        doc.apply_update(update)
        if self._pending or unintegrated(update, doc):
            self._pending.append(update)

    def state(self) -> bytes:
        return self._asleep.state if self._asleep is not None else self.doc.get_state()

    def deletes(self) -> bytes:
        return self._asleep.deletes if self._asleep is not None else delete_set_update(self.doc)

    def diff(self, state: bytes) -> bytes:
        """What a peer with ``state`` lacks (ValueError for an undecodable state vector)."""
        if self._asleep is not None:
            return get_update(self._asleep.update, state)
        return self.doc.get_update(state)

    def has_news(self, their_state: bytes, their_deletes: bytes) -> bool:
        return has_news_for(self.state(), self.deletes(), their_state, their_deletes)

    def full_state(self) -> bytes:
        """Everything, as one update: what a snapshot stores."""
        if self._asleep is not None:
            return self._asleep.update
        doc = self.doc
        self._pending = [update for update in self._pending if unintegrated(update, doc)]
        return (
            merge_updates(doc.get_update(), *self._pending) if self._pending else doc.get_update()
        )

    def sleep(self) -> None:
        if self._doc is None:
            return
        update = self.full_state()
        self._asleep = Encoded(update, self._doc.get_state(), delete_set_update(self._doc))
        self._client_id = self._doc.client_id
        self.close()

    def close(self) -> None:
        """Stop observing the live document, and let it go."""
        if self._doc is not None and self._subscription is not None:
            self._doc.unobserve(self._subscription)
        self._doc, self._subscription = None, None

    def _wake(self) -> None:
        doc: Doc[Any] = Doc(client_id=self._client_id)
        if self._asleep is not None:
            doc.apply_update(self._asleep.update)  # before observing: this is no change
        self._subscription = doc.observe(self._observer)
        self._doc, self._asleep = doc, None
