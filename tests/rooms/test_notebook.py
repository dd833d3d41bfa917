"""The output helpers write what JupyterLab would: valid nbformat, streams merged."""

from __future__ import annotations

from typing import Any

import nbformat
import pytest
from pycrdt import Doc, Text

from jupyter_codecrafter.rooms.documents import initial_update, wrap
from jupyter_codecrafter.rooms.notebook import (
    append_output,
    clear_outputs,
    find_cell,
    set_execution_count,
    set_execution_state,
)
from jupyter_codecrafter.store.records import SessionKind
from tests.notebooks import code_cell, ipynb


def loaded(*cells: dict[str, Any]) -> Any:
    doc: Doc[Any] = Doc()
    doc.apply_update(initial_update(SessionKind.NOTEBOOK, ipynb(*cells)))
    return wrap(SessionKind.NOTEBOOK, doc)


def test_outputs_are_valid_nbformat() -> None:
    """A run's outputs, count and state make a notebook nbformat accepts."""
    nb = loaded(code_cell("c1", "print('hi')"))
    cell = find_cell(nb, "c1")
    assert cell is not None
    set_execution_state(cell, "running")
    append_output(cell, {"output_type": "stream", "name": "stdout", "text": ["hel", "lo\n"]})
    append_output(cell, {"output_type": "stream", "name": "stdout", "text": "world\n"})
    append_output(cell, {"output_type": "stream", "name": "stderr", "text": "warn\n"})
    append_output(
        cell,
        {"output_type": "display_data", "data": {"image/png": "iVBOR"}, "metadata": {}},
    )
    append_output(
        cell,
        {
            "output_type": "execute_result",
            "data": {"text/plain": "42"},
            "metadata": {},
            "execution_count": 7,
        },
    )
    append_output(cell, {"output_type": "error", "ename": "E", "evalue": "v", "traceback": ["t"]})
    set_execution_count(cell, 7)
    set_execution_state(cell, "idle")

    content = nb.get()
    nbformat.validate(content)
    (code,) = content["cells"]
    assert code["execution_count"] == 7
    assert [o["output_type"] for o in code["outputs"]] == [
        "stream",
        "stream",
        "display_data",
        "execute_result",
        "error",
    ]
    assert code["outputs"][0] == {
        "output_type": "stream",
        "name": "stdout",
        "text": "hello\nworld\n",
    }
    assert cell["execution_state"] == "idle"


def test_stream_text_is_a_shared_text() -> None:
    """Stream text is a Y Text, as jupyter-ydoc creates it, so appends merge as insertions."""
    nb = loaded(code_cell("c1"))
    cell = find_cell(nb, "c1")
    assert cell is not None
    append_output(cell, {"output_type": "stream", "name": "stdout", "text": "a"})
    append_output(cell, {"output_type": "stream", "name": "stdout", "text": "b"})
    (output,) = list(cell["outputs"])
    assert isinstance(output["text"], Text)
    assert str(output["text"]) == "ab"


def test_clear_outputs_and_missing_cells() -> None:
    """Clearing empties a cell's outputs; an unknown cell id finds nothing."""
    nb = loaded(code_cell("c1"), code_cell("c2"))
    cell = find_cell(nb, "c2")
    assert cell is not None
    append_output(cell, {"output_type": "stream", "name": "stdout", "text": "x"})
    set_execution_count(cell, 1)
    clear_outputs(cell)
    set_execution_count(cell, None)
    assert nb.get()["cells"][1]["outputs"] == []
    assert nb.get()["cells"][1]["execution_count"] is None
    assert find_cell(nb, "nope") is None
    nbformat.validate(nb.get())


def test_execution_state_is_running_or_idle() -> None:
    """Only the two states @jupyter/ydoc knows (IExecutionState) are accepted."""
    nb = loaded(code_cell("c1"))
    cell = find_cell(nb, "c1")
    assert cell is not None
    with pytest.raises(ValueError, match="running"):
        set_execution_state(cell, "busy")  # type: ignore[arg-type]  # the point of the test
