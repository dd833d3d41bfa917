"""ipywidgets' Output widget in cell runs: what a run prints inside ``with out:`` goes into
the widget, for every collaborator, instead of into the cell.

Jupyter leaves that capture to the frontend that sent the execute: the kernel sets the
widget's ``msg_id`` to the execute's id, the frontend routes that execute's outputs into the
widget and syncs its ``outputs`` back. A cell run is a job: the worker sent the execute, no
frontend knows its id, so the worker plays that part. It keeps a mirror of every Output
widget's outputs (:class:`OutputWidgets`, fed with everything the kernel publishes), and
during a run (:class:`Capture`) moves the captured outputs into the widget and sends its new
``outputs`` to the kernel, which echoes them to every client (ipywidgets 8's echo_update).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .outputs import to_output

OUTPUT_MODEL = "OutputModel"
_UPDATES = ("update", "echo_update")

SendOutputs = Callable[[str, list[dict[str, Any]]], None]


class OutputWidgets:
    """The kernel's Output widgets, by comm id, with their outputs as the kernel has them."""

    def __init__(self) -> None:
        self._outputs: dict[str, list[dict[str, Any]]] = {}

    def __contains__(self, comm_id: object) -> bool:
        return comm_id in self._outputs

    def outputs(self, comm_id: str) -> list[dict[str, Any]]:
        return list(self._outputs.get(comm_id, []))

    def set(self, comm_id: str, outputs: list[dict[str, Any]]) -> None:
        self._outputs[comm_id] = outputs

    def observe(self, msg_type: str, content: dict[str, Any]) -> None:
        """Follow one IOPub message: an Output widget opened, changed or closed."""
        comm_id, data = content.get("comm_id"), content.get("data") or {}
        state = data.get("state") or {}
        if not isinstance(comm_id, str):
            return
        if msg_type == "comm_open" and state.get("_model_name") == OUTPUT_MODEL:
            # The run and the bridge both pass it on: the later must not undo a capture.
            self._outputs.setdefault(comm_id, list(state.get("outputs") or []))
        elif msg_type == "comm_msg" and comm_id in self and data.get("method") in _UPDATES:
            if isinstance(state.get("outputs"), list):
                self._outputs[comm_id] = list(state["outputs"])
        elif msg_type == "comm_close":
            self._outputs.pop(comm_id, None)


class Capture:
    """One run's outputs inside ``with out:`` blocks, moved into their Output widgets."""

    def __init__(
        self, widgets: OutputWidgets, msg_id: str, send: SendOutputs, *, limit_bytes: int
    ) -> None:
        self._room_bytes = limit_bytes  # the run's output cap applies here too
        self._widgets = widgets
        self._msg_id = msg_id  # the run's execute: the widget's msg_id while it captures
        self._send = send
        self._comm: str | None = None  # the widget capturing now
        self._clear_pending = False
        self._changed: dict[str, list[dict[str, Any]]] = {}  # new outputs the kernel lacks

    def observe(self, msg_type: str, content: dict[str, Any]) -> bool:
        """Follow one of the run's IOPub messages; True when it went into a widget."""
        self._widgets.observe(msg_type, content)
        if msg_type == "comm_msg":
            self._follow_msg_id(content)
            return False
        if self._comm is None:
            return False
        if msg_type == "clear_output":
            self._clear(wait=bool(content.get("wait")))
            return True
        output = to_output(msg_type, content)
        if output is not None and self._fits(output):
            self._append(output)
        return output is not None

    def _fits(self, output: dict[str, Any]) -> bool:
        """Past the run's output cap, captured outputs are dropped."""
        self._room_bytes -= len(json.dumps(output, ensure_ascii=False).encode())
        return self._room_bytes >= 0

    def _follow_msg_id(self, content: dict[str, Any]) -> None:
        comm_id, data = content.get("comm_id"), content.get("data") or {}
        state = data.get("state") or {}
        if comm_id not in self._widgets or "msg_id" not in state:
            return
        if state["msg_id"] == self._msg_id:
            self._comm = str(comm_id)
        elif comm_id == self._comm:
            self._comm = None
            self.flush()

    def flush(self) -> None:
        """Send the kernel each changed widget's outputs (it handles them once the run's
        code is done, and echoes them to every client)."""
        for comm_id, outputs in self._changed.items():
            self._send(comm_id, outputs)
        self._changed.clear()

    def _clear(self, *, wait: bool) -> None:
        self._clear_pending = True
        if not wait:
            self._update([])

    def _append(self, output: dict[str, Any]) -> None:
        assert self._comm is not None
        outputs = [] if self._clear_pending else self._widgets.outputs(self._comm)
        last = outputs[-1] if outputs else None
        if output["output_type"] == "stream" and last and last.get("name") == output["name"]:
            outputs[-1] = {**last, "text": last.get("text", "") + output["text"]}
        else:
            outputs.append(output)
        self._update(outputs)

    def _update(self, outputs: list[dict[str, Any]]) -> None:
        assert self._comm is not None
        self._clear_pending = self._clear_pending and not outputs
        self._widgets.set(self._comm, outputs)
        self._changed[self._comm] = outputs
