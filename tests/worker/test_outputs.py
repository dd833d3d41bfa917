"""How IOPub messages become notebook outputs: merging, clearing, display updates, the cap."""

from __future__ import annotations

from jupyter_codecrafter.worker.outputs import OutputCollector


def stream(text: str, name: str = "stdout") -> dict[str, str]:
    return {"name": name, "text": text}


def test_stream_text_is_cut_at_the_cap_on_a_character_boundary() -> None:
    """Output up to the cap is kept, never a broken UTF-8 character, and nothing after it."""
    collector = OutputCollector(limit_bytes=5)
    events = collector.handle("stream", stream("ab€cd"))  # € is 3 bytes: "ab€" is 5
    assert events == [{"output_type": "stream", "name": "stdout", "text": "ab€"}]
    assert collector.exceeded
    assert collector.handle("stream", stream("more")) == []
    assert collector.outputs == [{"output_type": "stream", "name": "stdout", "text": "ab€"}]


def test_cleared_output_still_counts_toward_the_cap() -> None:
    """Clearing does not refill the budget: the cap bounds everything sent to listeners."""
    collector = OutputCollector(limit_bytes=10)
    for _ in range(3):
        collector.handle("stream", stream("1234"))
        collector.handle("clear_output", {"wait": False})
    assert collector.exceeded


def test_wait_clear_without_new_output_keeps_the_old_output() -> None:
    """clear_output(wait=True) as the last thing leaves the previous output in place."""
    collector = OutputCollector(limit_bytes=1000)
    collector.handle("stream", stream("progress 100%\n"))
    assert collector.handle("clear_output", {"wait": True}) == []
    assert collector.outputs == [
        {"output_type": "stream", "name": "stdout", "text": "progress 100%\n"}
    ]


def test_update_of_an_unknown_display_changes_nothing() -> None:
    """An update for a display id this execution never showed leaves the outputs alone."""
    collector = OutputCollector(limit_bytes=1000)
    shown = {"data": {"text/plain": "'a'"}, "metadata": {}, "transient": {"display_id": "d1"}}
    collector.handle("display_data", shown)
    update = {"data": {"text/plain": "'b'"}, "metadata": {}, "transient": {"display_id": "zz"}}
    collector.handle("update_display_data", update)
    assert collector.outputs == [
        {"output_type": "display_data", "data": {"text/plain": "'a'"}, "metadata": {}}
    ]


def test_messages_that_are_not_outputs_are_ignored() -> None:
    """Status and execute_input messages produce no output."""
    collector = OutputCollector(limit_bytes=1000)
    assert collector.handle("status", {"execution_state": "busy"}) == []
    assert collector.handle("execute_input", {"code": "1", "execution_count": 1}) == []
    assert collector.outputs == []
