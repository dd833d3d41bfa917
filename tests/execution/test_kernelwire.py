"""Jupyter messages on the bus and on the kernel channel's WebSocket: what goes in comes out,
buffers and dates included, and what is not a message is refused."""

from __future__ import annotations

import json

import pytest
from jupyter_client.session import Session

from jupyter_codecrafter.api.kernel_channel import decode_frame, encode_frame
from jupyter_codecrafter.errors import MalformedMessage
from jupyter_codecrafter.execution.kernelwire import Envelope, KernelMessage

BUFFERS = [b"\x00\x01binary", b""]


def widget_message() -> KernelMessage:
    """A comm message as jupyter_client makes it: a datetime in its header, two buffers."""
    msg = Session(key=b"").msg("comm_msg", {"comm_id": "c", "data": {"method": "update"}})
    return KernelMessage.from_dict("shell", msg, BUFFERS)


def test_an_envelope_keeps_its_message_and_route() -> None:
    """Routing fields, the message's four parts and its buffers survive the bus."""
    envelope = Envelope(widget_message(), conn="c1", user="u1", job="j1")
    back = Envelope.decode(envelope.encode())
    assert back == envelope
    assert isinstance(back.message.header["date"], str)


@pytest.mark.parametrize("data", [b"", b"\x00\x00\x00\x09{}", b"\x00\x00\x00\x02{}"])
def test_a_broken_envelope_is_refused(data: bytes) -> None:
    """Truncated or partial envelopes raise MalformedMessage, never something else."""
    with pytest.raises(MalformedMessage):
        Envelope.decode(data)


@pytest.mark.parametrize("v1", [True, False])
def test_frames_round_trip_with_buffers(v1: bool) -> None:
    """Both framings carry a message with buffers both ways unchanged."""
    message = widget_message()
    assert decode_frame(encode_frame(message, v1), v1) == message


def test_a_legacy_text_frame_without_channel_is_shell() -> None:
    """Legacy JSON frames name their channel; one that does not is a shell message."""
    msg = Session(key=b"").msg("kernel_info_request", {})
    decoded = decode_frame(json.dumps(msg, default=str), v1=False)
    assert decoded.channel == "shell" and decoded.msg_type == "kernel_info_request"


@pytest.mark.parametrize(
    ("frame", "v1"),
    [("not json", False), ('{"header": []}', False), ('{"header": {}}', False), (b"\x01", True)],
)
def test_what_is_not_a_message_is_refused(frame: str | bytes, v1: bool) -> None:
    """Garbage, a header that is not an object or has no msg_type: MalformedMessage."""
    with pytest.raises(MalformedMessage):
        decode_frame(frame, v1)
