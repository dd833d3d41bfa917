"""The one permission function: effective roles and what each role may do."""

from __future__ import annotations

import pytest

from jupyter_codecrafter.sessions.permissions import (
    Action,
    allowed,
    effective_role,
    kernel_message_allowed,
)
from jupyter_codecrafter.store.records import SessionRole, UserRole
from tests.store import factories

R, W, A, OWN = SessionRole.READ, SessionRole.WRITE, SessionRole.ADMIN, SessionRole.OWNER

# action: what read, write, admin and owner may do (True/False in that order)
ALLOWED = {
    Action.VIEW: (True, True, True, True),
    Action.EDIT: (False, True, True, True),
    Action.RUN: (False, True, True, True),
    Action.UPDATE: (False, False, True, True),
    Action.MANAGE: (False, False, True, True),
    Action.DELETE: (False, False, False, True),
}


@pytest.mark.parametrize("action", list(Action))
def test_each_role_may_do_what_the_table_says(action: Action) -> None:
    """read < write < admin < owner, each allowed exactly its actions; no role: nothing."""
    assert tuple(allowed(role, action) for role in (R, W, A, OWN)) == ALLOWED[action]
    assert allowed(None, action) is False


@pytest.mark.parametrize(
    ("owner", "platform_admin", "public", "collaborator", "expected"),
    [
        (True, False, False, None, OWN),
        (True, True, True, None, OWN),
        (False, False, False, None, None),
        (False, False, True, None, R),
        (False, False, True, W, W),
        (False, False, False, R, R),
        (False, True, False, None, A),
        (False, True, True, R, A),
        (False, True, False, A, A),
    ],
)
def test_effective_role_is_the_strongest_grant(
    owner: bool,
    platform_admin: bool,
    public: bool,
    collaborator: SessionRole | None,
    expected: SessionRole | None,
) -> None:
    """Owner beats everything; else the best of collaborator role, admin, and public read."""
    user = factories.user(role=UserRole.ADMIN if platform_admin else UserRole.USER)
    session = factories.session(user.id if owner else "someone-else", is_public=public)
    assert effective_role(user, session, collaborator) == expected


# (channel, msg_type, content): may a reader send it, may a writer
KERNEL_MESSAGES = [
    ("shell", "kernel_info_request", {}, True, True),
    ("shell", "complete_request", {"code": "x", "cursor_pos": 1}, True, True),
    ("shell", "inspect_request", {"code": "x", "cursor_pos": 1}, True, True),
    ("shell", "is_complete_request", {"code": "x"}, True, True),
    ("shell", "comm_info_request", {}, True, True),
    ("shell", "history_request", {}, True, True),
    ("shell", "comm_open", {"target_name": "jupyter.widget.control"}, True, True),
    ("shell", "comm_msg", {"data": {"method": "request_state"}}, True, True),
    ("shell", "comm_msg", {"data": {"method": "request_states"}}, True, True),
    ("shell", "comm_msg", {"data": {"method": "update", "state": {"value": 1}}}, False, True),
    ("shell", "comm_msg", {"data": {"method": "custom", "content": {}}}, False, True),
    ("shell", "comm_open", {"target_name": "jupyter.widget"}, False, True),
    ("shell", "comm_close", {}, False, True),
    ("shell", "execute_request", {"code": "1"}, False, True),
    ("stdin", "input_reply", {"value": "x"}, False, True),
    ("control", "interrupt_request", {}, False, True),
    ("control", "shutdown_request", {"restart": True}, False, True),
    ("control", "debug_request", {}, False, False),
    ("stdin", "complete_request", {}, False, False),  # reads belong on shell
    ("iopub", "stream", {}, False, False),  # clients never publish
]


@pytest.mark.parametrize(("channel", "msg_type", "content", "reader", "writer"), KERNEL_MESSAGES)
def test_what_each_role_may_send_its_kernel(
    channel: str, msg_type: str, content: dict[str, object], reader: bool, writer: bool
) -> None:
    """Readers read the kernel and sync widget state; writers also change it; no role: none."""
    assert kernel_message_allowed(R, channel, msg_type, content) is reader
    for role in (W, A, OWN):
        assert kernel_message_allowed(role, channel, msg_type, content) is writer
    assert kernel_message_allowed(None, channel, msg_type, content) is False
