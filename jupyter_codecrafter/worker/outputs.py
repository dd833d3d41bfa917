"""Turning a kernel's IOPub messages into nbformat v4 outputs, under an output cap.

:class:`OutputCollector` keeps the outputs of one execution the way a notebook would store
them (consecutive chunks of one stream merged, ``clear_output`` applied, displays updated by
``display_id``) and returns the events to stream to listeners as they happen:

- an nbformat output dict (each stream chunk is its own ``stream`` output); a display with a
  ``display_id`` also carries ``"transient": {"display_id": ...}`` as in the IOPub message,
  so a listener can find it again (strip it before storing the output);
- ``{"output_type": "clear_output"}``: drop every output of this execution shown so far
  (a ``clear_output(wait=True)`` is emitted only when the next output arrives);
- ``{"output_type": "update_display_data", "display_id", "data", "metadata"}``: replace the
  data of earlier outputs with that display id.

The cap counts every byte emitted (stream text, JSON of rich data and tracebacks), cleared
or not: it bounds what goes over the wire, not what remains on screen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

OutputEvent = dict[str, Any]


def _data_size(*parts: Any) -> int:
    return sum(len(json.dumps(part, ensure_ascii=False).encode()) for part in parts)


def _fit_text(text: str, room_bytes: int) -> str:
    """The longest prefix of ``text`` whose UTF-8 encoding fits ``room_bytes``."""
    return text.encode()[: max(room_bytes, 0)].decode("utf-8", errors="ignore")


@dataclass(slots=True)
class OutputCollector:
    limit_bytes: int
    outputs: list[dict[str, Any]] = field(default_factory=list)
    used_bytes: int = 0
    exceeded: bool = False
    error: dict[str, Any] | None = None  # the last error output, if any
    _clear_pending: bool = False
    _display_ids: dict[str, list[int]] = field(default_factory=dict)

    def handle(self, msg_type: str, content: dict[str, Any]) -> list[OutputEvent]:
        """Apply one IOPub message; the events to emit (none once the cap is exceeded)."""
        if self.exceeded:
            return []
        if msg_type == "clear_output":
            return self._clear(wait=bool(content.get("wait")))
        if msg_type == "update_display_data":
            return self._update_display(content)
        output = to_output(msg_type, content)
        if output is None:
            return []
        events = self._flush_pending_clear()
        transient = content.get("transient") or {}
        if self._add(output, transient):
            event = dict(output)
            if transient.get("display_id"):
                event["transient"] = {"display_id": transient["display_id"]}
            events.append(event)
        return events

    def _clear(self, *, wait: bool) -> list[OutputEvent]:
        self._clear_pending = True
        return [] if wait else self._flush_pending_clear()

    def _flush_pending_clear(self) -> list[OutputEvent]:
        if not self._clear_pending:
            return []
        self._clear_pending = False
        self.outputs.clear()
        self._display_ids.clear()
        return [{"output_type": "clear_output"}]

    def _charge(self, size_bytes: int) -> bool:
        if self.used_bytes + size_bytes > self.limit_bytes:
            self.exceeded = True
            return False
        self.used_bytes += size_bytes
        return True

    def _add(self, output: dict[str, Any], transient: dict[str, Any]) -> bool:
        if output["output_type"] == "stream":
            return self._add_stream(output)
        if not self._charge(_data_size(output)):
            return False
        if output["output_type"] == "error":
            self.error = output
        display_id = transient.get("display_id")
        if display_id:
            self._display_ids.setdefault(display_id, []).append(len(self.outputs))
        self.outputs.append(output)
        return True

    def _add_stream(self, output: dict[str, Any]) -> bool:
        text = output["text"]
        size = len(text.encode())
        if not self._charge(size):
            # Keep what fits, so the user sees output up to the cap.
            output["text"] = text = _fit_text(text, self.limit_bytes - self.used_bytes)
            self.used_bytes = self.limit_bytes
            if not text:
                return False
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == output["name"]:
            last["text"] += text
        else:
            self.outputs.append(dict(output))
        return True

    def _update_display(self, content: dict[str, Any]) -> list[OutputEvent]:
        display_id = (content.get("transient") or {}).get("display_id")
        data, metadata = content.get("data", {}), content.get("metadata", {})
        if not display_id or not self._charge(_data_size(data, metadata)):
            return []
        for index in self._display_ids.get(display_id, []):
            self.outputs[index]["data"] = data
            self.outputs[index]["metadata"] = metadata
        event = {
            "output_type": "update_display_data",
            "display_id": display_id,
            "data": data,
            "metadata": metadata,
        }
        return [event]


def to_output(msg_type: str, content: dict[str, Any]) -> dict[str, Any] | None:
    """The nbformat v4 output for an IOPub message, or None if it is not an output."""
    if msg_type == "stream":
        return {"output_type": "stream", "name": content["name"], "text": content["text"]}
    if msg_type == "display_data":
        return {
            "output_type": "display_data",
            "data": content.get("data", {}),
            "metadata": content.get("metadata", {}),
        }
    if msg_type == "execute_result":
        return {
            "output_type": "execute_result",
            "data": content.get("data", {}),
            "metadata": content.get("metadata", {}),
            "execution_count": content.get("execution_count"),
        }
    if msg_type == "error":
        return {
            "output_type": "error",
            "ename": content.get("ename", ""),
            "evalue": content.get("evalue", ""),
            "traceback": content.get("traceback", []),
        }
    return None
