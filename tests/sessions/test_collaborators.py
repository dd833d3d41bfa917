"""Collaborators through the service: who may change roles, and what a change does to the
changed user's live room connections."""

from __future__ import annotations

import pytest

from jupyter_codecrafter.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from jupyter_codecrafter.rooms.protocol import CLOSE_REMOVED
from jupyter_codecrafter.store.records import SessionRole, UserRole
from tests.notebooks import code_cell, ipynb
from tests.rooms.harness import sources
from tests.sessions.conftest import Instance, Join

READ, WRITE, ADMIN = SessionRole.READ, SessionRole.WRITE, SessionRole.ADMIN


async def test_owner_lists_first_then_collaborators_oldest_first(instance: Instance) -> None:
    """The list shows the owner (role owner), then each collaborator in the order added."""
    owner, ann, bob = await instance.user(), await instance.user(), await instance.user()
    session = await instance.notebook(owner)
    await instance.sessions.collaborators.set(owner, session.id, bob.username, READ)
    await instance.sessions.collaborators.set(owner, session.id, ann.id, WRITE)
    await instance.sessions.collaborators.set(
        owner, session.id, bob.id, ADMIN
    )  # re-rank keeps order
    members = await instance.sessions.collaborators.list(ann, session.id)
    assert (members[0].user.id, members[0].role) == (owner.id, SessionRole.OWNER)
    assert {(m.user.id, m.role) for m in members[1:]} == {(bob.id, ADMIN), (ann.id, WRITE)}
    # Oldest first (two added in the same millisecond come in user id order).
    assert members[1:] == sorted(members[1:], key=lambda m: (m.added_at, m.user.id))
    assert members[1].added_at <= members[2].added_at


async def test_user_is_addressed_by_id_or_username(instance: Instance) -> None:
    """The target user may be named by id or by username (any case); unknown ones are 404."""
    owner, ann = await instance.user(), await instance.user(username="AnnLee")
    session = await instance.notebook(owner)
    member = await instance.sessions.collaborators.set(owner, session.id, "annlee", WRITE)
    assert member.user.id == ann.id
    with pytest.raises(NotFound):
        await instance.sessions.collaborators.set(owner, session.id, "nobody-here", WRITE)


async def test_only_owner_and_admins_manage(instance: Instance) -> None:
    """A writer cannot grant roles; an admin can grant up to admin, never owner."""
    owner, admin, writer, ann = [await instance.user() for _ in range(4)]
    session = await instance.notebook(owner)
    await instance.sessions.collaborators.set(owner, session.id, admin.id, ADMIN)
    await instance.sessions.collaborators.set(owner, session.id, writer.id, WRITE)
    with pytest.raises(PermissionDenied):
        await instance.sessions.collaborators.set(writer, session.id, ann.id, READ)
    with pytest.raises(PermissionDenied):
        await instance.sessions.collaborators.remove(writer, session.id, admin.id)
    assert (
        await instance.sessions.collaborators.set(admin, session.id, ann.id, ADMIN)
    ).role is ADMIN
    with pytest.raises(ValidationFailed):
        await instance.sessions.collaborators.set(admin, session.id, ann.id, SessionRole.OWNER)


async def test_owner_cannot_be_demoted_or_removed(instance: Instance) -> None:
    """Nobody, not even the owner or a platform admin, changes the owner's role."""
    owner, admin = await instance.user(), await instance.user(UserRole.ADMIN)
    session = await instance.notebook(owner)
    for actor in (owner, admin):
        with pytest.raises(Conflict):
            await instance.sessions.collaborators.set(actor, session.id, owner.id, READ)
        with pytest.raises(Conflict):
            await instance.sessions.collaborators.remove(actor, session.id, owner.username)


async def test_collaborator_may_leave(instance: Instance) -> None:
    """Anyone may remove themselves; removing a non-collaborator is 404."""
    owner, reader = await instance.user(), await instance.user()
    session = await instance.notebook(owner)
    await instance.sessions.collaborators.set(owner, session.id, reader.id, READ)
    await instance.sessions.collaborators.remove(reader, session.id, reader.id)
    with pytest.raises(NotFound):
        await instance.sessions.get(reader, session.id)
    with pytest.raises(NotFound):
        await instance.sessions.collaborators.remove(owner, session.id, reader.id)


async def test_downgrade_makes_a_live_connection_read_only(instance: Instance, join: Join) -> None:
    """A writer demoted to reader is told at once, and their next edit reaches no one."""
    owner, ann = await instance.user(), await instance.user()
    session = await instance.notebook(owner, content=ipynb(code_cell("c1", "x = 1")))
    await instance.sessions.collaborators.set(owner, session.id, ann.id, WRITE)
    teacher = await join(instance.rooms, session, owner, SessionRole.OWNER)
    student = await join(instance.rooms, session, ann, WRITE)

    await instance.sessions.collaborators.set(owner, session.id, ann.id, READ)
    await student.client.wait_for(
        lambda: {"type": "role", "role": "read"} in student.client.control_messages
    )
    student.notebook.ycells[0]["source"].insert(0, "EVIL ")
    await student.settle()
    teacher.notebook.ycells[0]["source"].insert(5, "0")
    await student.client.wait_for(lambda: "x = 10" in sources(student.client)[0])
    assert sources(teacher.client) == ["x = 10"]
    content = await instance.rooms.get_content(session.id, session.kind)
    assert isinstance(content, dict)
    assert [cell["source"] for cell in content["cells"]] == ["x = 10"]


async def test_removal_closes_the_live_connection(instance: Instance, join: Join) -> None:
    """A removed collaborator's connection is closed with the 'removed' close code."""
    owner, ann = await instance.user(), await instance.user()
    session = await instance.notebook(owner)
    await instance.sessions.collaborators.set(owner, session.id, ann.id, WRITE)
    student = await join(instance.rooms, session, ann, WRITE)
    await instance.sessions.collaborators.remove(owner, session.id, ann.id)
    assert await student.client.closed() == CLOSE_REMOVED


async def test_removal_from_a_public_session_leaves_read_access(
    instance: Instance, join: Join
) -> None:
    """A collaborator removed from a public session keeps reading it, read-only."""
    owner, ann = await instance.user(), await instance.user()
    session = await instance.notebook(owner, is_public=True)
    await instance.sessions.collaborators.set(owner, session.id, ann.id, WRITE)
    student = await join(instance.rooms, session, ann, WRITE)
    await instance.sessions.collaborators.remove(owner, session.id, ann.id)
    await student.client.wait_for(
        lambda: {"type": "role", "role": "read"} in student.client.control_messages
    )
    assert not student.client.is_closed
    assert (await instance.sessions.get(ann, session.id)).role is READ
