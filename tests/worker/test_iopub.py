"""A run's IOPub inbox: its own messages in order, bounded, and never without its end."""

from __future__ import annotations

from typing import Any

import pytest

from jupyter_codecrafter.worker import iopub
from jupyter_codecrafter.worker.iopub import Inbox


def message(msg_type: str, parent: str, **content: Any) -> dict[str, Any]:
    return {"msg_type": msg_type, "parent_header": {"msg_id": parent}, "content": content}


async def drained(inbox: Inbox) -> list[dict[str, Any]]:
    got = []
    while True:
        try:
            got.append(await inbox.get(timeout_s=0.01))
        except TimeoutError:
            return got


async def test_a_flood_past_the_backlog_drops_outputs_but_not_the_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Past the backlog a run loses outputs, never the idle status that ends it."""
    monkeypatch.setattr(iopub, "BACKLOG", 3)
    inbox = Inbox("run-1")
    for number in range(5):
        inbox.offer(message("stream", "run-1", text=str(number)))
    inbox.offer(message("status", "run-1", execution_state="idle"))
    got = await drained(inbox)
    assert [m["content"].get("text", m["msg_type"]) for m in got] == ["0", "1", "2", "status"]


async def test_messages_of_other_requests_are_not_the_runs() -> None:
    """Another client's request, or an earlier interrupted run, does not reach this run."""
    inbox = Inbox("run-2")
    inbox.offer(message("stream", "run-1", text="old"))
    inbox.offer(message("stream", "completion-7", text="other"))
    inbox.offer(message("stream", "run-2", text="mine"))
    assert [m["content"]["text"] for m in await drained(inbox)] == ["mine"]
