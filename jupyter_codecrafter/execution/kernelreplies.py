"""Replies a server instance gives on a kernel channel itself: refusals, and answers while
the session has no kernel (before its first run, or after it died).

Without a kernel there is no namespace to complete or inspect, so the answers are empty but
valid, and a client (JupyterLab's KernelConnection, nbclient) connects without starting a
kernel: opening a notebook costs no sandbox; the first run starts it.
"""

from __future__ import annotations

from typing import Any

from .._version import __version__
from ..utils import new_id, utcnow
from .kernelwire import KernelMessage

PROTOCOL_VERSION = "5.3"

_LANGUAGE_INFO: dict[str, dict[str, Any]] = {
    "python": {
        "name": "python",
        "mimetype": "text/x-python",
        "file_extension": ".py",
        "pygments_lexer": "ipython3",
        "codemirror_mode": {"name": "ipython", "version": 3},
        "nbconvert_exporter": "python",
    }
}


def without_kernel(request: KernelMessage, language: str) -> dict[str, Any] | None:
    """The reply content to ``request`` while there is no kernel; None: nothing to reply."""
    cursor = request.content.get("cursor_pos", 0)
    contents: dict[str, dict[str, Any]] = {
        "kernel_info_request": _kernel_info(language),
        "complete_request": {
            "status": "ok",
            "matches": [],
            "cursor_start": cursor,
            "cursor_end": cursor,
            "metadata": {},
        },
        "inspect_request": {"status": "ok", "found": False, "data": {}, "metadata": {}},
        "is_complete_request": {"status": "unknown"},
        "comm_info_request": {"status": "ok", "comms": {}},
        "history_request": {"status": "ok", "history": []},
    }
    return contents.get(request.msg_type)


def _kernel_info(language: str) -> dict[str, Any]:
    return {
        "status": "ok",
        "protocol_version": PROTOCOL_VERSION,
        "implementation": "codecrafter",
        "implementation_version": __version__,
        "language_info": _LANGUAGE_INFO.get(language, {"name": language}),
        "banner": "The session's kernel starts with its first run.",
        "help_links": [],
    }


def error_content(code: str, message: str) -> dict[str, Any]:
    return {"status": "error", "ename": code, "evalue": message, "traceback": [message]}


def reply_to(request: KernelMessage, content: dict[str, Any]) -> KernelMessage:
    """``<x>_reply`` to an ``<x>_request``, on the request's channel."""
    msg_type = request.msg_type.removesuffix("_request") + "_reply"
    return KernelMessage(
        request.channel, _header(msg_type, request), dict(request.header), {}, content
    )


def status(request: KernelMessage, state: str) -> KernelMessage:
    """The IOPub status a client expects around the reply (JupyterLab's futures wait for
    the request's idle before they are done)."""
    header = _header("status", request)
    return KernelMessage("iopub", header, dict(request.header), {}, {"execution_state": state})


def answered(request: KernelMessage, content: dict[str, Any]) -> list[KernelMessage]:
    """What a kernel would send its client for a request: busy, the reply, idle."""
    return [status(request, "busy"), reply_to(request, content), status(request, "idle")]


def _header(msg_type: str, request: KernelMessage) -> dict[str, Any]:
    return {
        "msg_id": new_id(),
        "msg_type": msg_type,
        "username": "codecrafter",
        "session": str(request.header.get("session", "")),
        "date": utcnow().isoformat(),
        "version": PROTOCOL_VERSION,
    }
