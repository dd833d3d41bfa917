"""Session documents: jupyter-ydoc's schemas over a pycrdt ``Doc``.

Notebooks are ``YNotebook`` (the schema JupyterLab's models use), text files ``YUnicode``.
A document's first state is made once, when its session is created (:func:`initial_update`),
and stored as its first update: if every server instance initialised documents on its own,
each would add its own copy of the content.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from jupyter_ydoc import YNotebook, YUnicode
from pycrdt import Doc

from ..store.records import DocumentState, SessionKind

log = logging.getLogger("jupyter_codecrafter.rooms")

Document = YNotebook | YUnicode

EMPTY_NOTEBOOK: dict[str, Any] = {
    "cells": [],
    "metadata": {},
    "nbformat": 4,
    "nbformat_minor": 5,
}

# An origin no transaction ever has: with it tracked, the undo manager jupyter-ydoc attaches
# to every document records nothing, instead of every change the server ever sees.
_UNTRACKED_ORIGIN = "codecrafter-no-undo"


def wrap(kind: SessionKind, doc: Doc[Any]) -> Document:
    """The jupyter-ydoc document of ``kind`` over ``doc`` (no undo history)."""
    document: Document = YNotebook(doc) if kind is SessionKind.NOTEBOOK else YUnicode(doc)
    document.undo_manager.include_origin(_UNTRACKED_ORIGIN)
    return document


def initial_update(kind: SessionKind, content: dict[str, Any] | str | None) -> bytes:
    """The first Y update of a new session's document.

    A notebook takes an nbformat dict (None: an empty nbformat 4.5 notebook, which
    jupyter-ydoc gives one empty code cell, as JupyterLab does); a file takes text.
    """
    doc: Doc[Any] = Doc()
    document = wrap(kind, doc)
    if isinstance(document, YNotebook):
        if content is not None and not isinstance(content, dict):
            raise TypeError("a notebook's content is an nbformat dict")
        if content is not None and not isinstance(content.get("cells"), list):
            raise ValueError("a notebook's content has a list of cells")
        document.set(content if content is not None else EMPTY_NOTEBOOK)
    else:
        if content is not None and not isinstance(content, str):
            raise TypeError("a file's content is text")
        document.set(content or "")
    return doc.get_update()


def content_of(document: Document) -> dict[str, Any] | str:
    """The document as an nbformat dict (notebook) or text (file)."""
    content: dict[str, Any] | str = document.get()
    return content


def doc_from_state(session_id: str, state: DocumentState) -> Doc[Any]:
    """A fresh ``Doc`` holding a stored document (snapshot, then updates)."""
    doc: Doc[Any] = Doc()
    apply_stored(doc, session_id, state)
    return doc


class UpdateTarget(Protocol):
    """A ``Doc``, or anything that applies Y updates the same way."""

    def apply_update(self, update: bytes) -> None: ...


def apply_stored(doc: UpdateTarget, session_id: str, state: DocumentState) -> None:
    """Apply a stored snapshot and updates; one that cannot be decoded is logged and skipped,
    so a damaged row costs that edit, not the whole session."""
    updates = ([state.snapshot] if state.snapshot else []) + list(state.updates)
    for index, update in enumerate(updates):
        try:
            doc.apply_update(update)
        except ValueError:
            log.error("Skipping undecodable stored update #%d of session %s", index, session_id)
