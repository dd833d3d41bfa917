"""The one place that decides what a user may do with a session, and who may run code
outside a sandbox.

REST handlers, rooms and execution all call :func:`effective_role` and :func:`allowed`;
the kernel channel calls :func:`kernel_message_allowed` for each message a client sends;
execution also calls :func:`may_run_unconfined`.
"""

from __future__ import annotations

import enum

from ..store.records import Session, SessionRole, User, UserRole


class Action(enum.StrEnum):
    VIEW = "view"  # metadata, open the room, receive updates, awareness, job history, export, fork
    EDIT = "edit"  # send document updates
    RUN = "run"  # run cells and snippets in the session
    UPDATE = "update"  # title, language, is_public, metadata
    MANAGE = "manage"  # collaborators and invites
    DELETE = "delete"


_MINIMUM_ROLE = {
    Action.VIEW: SessionRole.READ,
    Action.EDIT: SessionRole.WRITE,
    Action.RUN: SessionRole.WRITE,
    Action.UPDATE: SessionRole.ADMIN,
    Action.MANAGE: SessionRole.ADMIN,
    Action.DELETE: SessionRole.OWNER,
}


def effective_role(
    user: User, session: Session, collaborator_role: SessionRole | None
) -> SessionRole | None:
    """The strongest of: owner, the collaborator role, platform admin (session admin),
    and read on a public session. None means no access at all."""
    if session.owner_id == user.id:
        return SessionRole.OWNER
    candidates = [collaborator_role]
    if user.role == UserRole.ADMIN:
        candidates.append(SessionRole.ADMIN)
    if session.is_public:
        candidates.append(SessionRole.READ)
    roles = [role for role in candidates if role is not None]
    return max(roles, key=lambda role: role.rank, default=None)


def allowed(role: SessionRole | None, action: Action) -> bool:
    return role is not None and role.rank >= _MINIMUM_ROLE[action].rank


def may_run_unconfined(user: User, *, host_access: bool, everyone: bool) -> bool:
    """Whether ``user``'s code may run where it can read the server's files and secrets:
    admins; whoever can already start kernels on the host through Jupyter itself
    (``host_access``, as vouched for by Jupyter's authorizer); everyone when the operator
    opted in (``dangerously_allow_unconfined_runs``)."""
    return everyone or host_access or user.role == UserRole.ADMIN


# Kernel channel messages anyone who can view a session may send: they read the kernel's
# namespace (completion, help, history of what ran, which is in the notebook anyway) and
# change nothing in it.
_KERNEL_READS = frozenset(
    {
        "kernel_info_request",
        "complete_request",
        "inspect_request",
        "is_complete_request",
        "comm_info_request",
        "history_request",
    }
)
# Messages that change the kernel's state: writers only. Executes become runs (jobs).
_KERNEL_WRITES = {
    "shell": frozenset({"execute_request", "comm_open", "comm_msg", "comm_close"}),
    "stdin": frozenset({"input_reply"}),
    "control": frozenset({"interrupt_request", "shutdown_request"}),
}
# ipywidgets 8: a reader's notebook syncs the widgets' current state through these.
WIDGET_CONTROL_TARGET = "jupyter.widget.control"
_WIDGET_STATE_METHODS = frozenset({"request_state", "request_states"})


def kernel_message_allowed(
    role: SessionRole | None, channel: str, msg_type: str, content: dict[str, object]
) -> bool:
    """Whether a client with ``role`` may send this message to the session's kernel."""
    if not allowed(role, Action.VIEW):
        return False
    reads = msg_type in _KERNEL_READS or _widget_state_request(msg_type, content)
    if channel == "shell" and reads:
        return True
    return allowed(role, Action.RUN) and msg_type in _KERNEL_WRITES.get(channel, frozenset())


def _widget_state_request(msg_type: str, content: dict[str, object]) -> bool:
    """Opening the widget control comm, or asking a widget (or all) for its state."""
    if msg_type == "comm_open":
        return content.get("target_name") == WIDGET_CONTROL_TARGET
    if msg_type == "comm_msg":
        data = content.get("data")
        return isinstance(data, dict) and data.get("method") in _WIDGET_STATE_METHODS
    return False
