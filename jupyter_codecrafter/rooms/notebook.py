"""Writing run results into a shared notebook, in jupyter-ydoc's schema.

Used inside :meth:`RoomManager.edit` by the one writer of a run's outputs. A cell is a
``Map``; its ``outputs`` an ``Array`` of ``Map``; a stream output's ``text`` a ``Text``
(as jupyter-ydoc 4 creates them), so appended stream text is an insertion every client
merges, not a replacement.
"""

from __future__ import annotations

import copy
from typing import Any, Literal

from jupyter_ydoc import YNotebook
from pycrdt import Array, Map, Text

# @jupyter/ydoc's IExecutionState: JupyterLab shows [*] for "running".
ExecutionState = Literal["running", "idle"]


def find_cell(nb: YNotebook, cell_id: str) -> Map[Any] | None:
    """The cell with this id, or None."""
    for cell in nb.ycells:
        if isinstance(cell, Map) and cell.get("id") == cell_id:
            return cell
    return None


def clear_outputs(cell: Map[Any]) -> None:
    outputs = cell.get("outputs")
    if isinstance(outputs, Array):
        outputs.clear()
    else:
        cell["outputs"] = Array()


def append_output(cell: Map[Any], output: dict[str, Any]) -> None:
    """Append an nbformat output; stream text of the same stream as the last output is
    appended to it, as JupyterLab's output area merges them."""
    outputs = cell.get("outputs")
    if not isinstance(outputs, Array):
        outputs = cell["outputs"] = Array()
    if output.get("output_type") == "stream":
        text = _joined(output.get("text", ""))
        last = outputs[len(outputs) - 1] if len(outputs) else None
        if _is_stream(last, output.get("name")):
            assert isinstance(last, Map)  # _is_stream checked it
            _append_text(last, text)
            return
        stream = {**copy.deepcopy(output), "text": Text(text)}
        outputs.append(Map(stream))
        return
    outputs.append(Map(copy.deepcopy(dict(output))))


def set_output_data(cell: Map[Any], index: int, data: Any, metadata: Any) -> bool:
    """Replace the data of the output at ``index`` (a display being updated); False when
    there is no such display any more (a collaborator cleared the outputs)."""
    outputs = cell.get("outputs")
    if not isinstance(outputs, Array) or index >= len(outputs):
        return False
    output = outputs[index]
    if not isinstance(output, Map) or "data" not in output:
        return False
    output["data"] = copy.deepcopy(data)
    output["metadata"] = copy.deepcopy(metadata)
    return True


def set_execution_count(cell: Map[Any], n: int | None) -> None:
    cell["execution_count"] = n


def set_execution_state(cell: Map[Any], state: ExecutionState) -> None:
    """jupyter-ydoc's ``execution_state`` key, which JupyterLab shows as the busy marker."""
    if state not in ("running", "idle"):
        raise ValueError(f"execution state is 'running' or 'idle', not {state!r}")
    cell["execution_state"] = state


def _joined(text: Any) -> str:
    return "".join(text) if isinstance(text, list) else str(text)


def _is_stream(output: Any, name: Any) -> bool:
    return (
        isinstance(output, Map)
        and output.get("output_type") == "stream"
        and output.get("name") == name
    )


def _append_text(output: Map[Any], text: str) -> None:
    current = output.get("text")
    if isinstance(current, Text):
        current.insert(len(current), text)
    else:  # a client wrote the text as a plain string
        output["text"] = Text(_joined(current or "") + text)
