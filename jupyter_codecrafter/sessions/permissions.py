"""The one place that decides what a user may do with a session, and who may run code
outside a sandbox.

REST handlers, rooms and execution all call :func:`effective_role` and :func:`allowed`;
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
