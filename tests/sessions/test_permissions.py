"""The one permission function: effective roles and what each role may do."""

from __future__ import annotations

import pytest

from jupyter_codecrafter.sessions.permissions import Action, allowed, effective_role
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
