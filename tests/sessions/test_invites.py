"""Invite codes through the service: joining, the limits of a code, and concurrent joins."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from jupyter_codecrafter.errors import Gone, NotFound, PermissionDenied
from jupyter_codecrafter.store.records import Invite, SessionRole
from jupyter_codecrafter.utils import utcnow
from tests.sessions.conftest import Instance, Join, MakeInstance

READ, WRITE, ADMIN = SessionRole.READ, SessionRole.WRITE, SessionRole.ADMIN


async def uses(instance: Instance, code: str) -> int:
    invite = await instance.store.invites.get(code)
    assert invite is not None
    return invite.uses


async def test_join_makes_a_collaborator_with_the_role(instance: Instance) -> None:
    """Presenting a code makes the caller a collaborator with the invite's role."""
    owner, student = await instance.user(), await instance.user()
    session = await instance.notebook(owner)
    invite = await instance.sessions.invites.create(owner, session.id, role=WRITE, max_uses=30)
    assert len(invite.code) >= 22  # at least 128 random bits
    joined, role = await instance.sessions.invites.join(student, invite.code)
    assert (joined.id, role) == (session.id, WRITE)
    assert (await instance.sessions.get(student, session.id)).role is WRITE
    assert await uses(instance, invite.code) == 1


async def test_join_never_lowers_a_role(instance: Instance) -> None:
    """An admin joining with a read code stays admin, and uses nothing up."""
    owner, admin = await instance.user(), await instance.user()
    session = await instance.notebook(owner)
    await instance.sessions.collaborators.set(owner, session.id, admin.id, ADMIN)
    invite = await instance.sessions.invites.create(owner, session.id, role=READ, max_uses=1)
    assert (await instance.sessions.invites.join(admin, invite.code))[1] is ADMIN
    assert await uses(instance, invite.code) == 0


async def test_join_raises_a_lower_role(instance: Instance, join: Join) -> None:
    """A public reader joining with a write code can write at once, on a live connection too."""
    owner, student = await instance.user(), await instance.user()
    session = await instance.notebook(owner, is_public=True)
    peer = await join(instance.rooms, session, student, READ)
    invite = await instance.sessions.invites.create(owner, session.id, role=WRITE)
    assert (await instance.sessions.invites.join(student, invite.code))[1] is WRITE
    await peer.client.wait_for(
        lambda: {"type": "role", "role": "write"} in peer.client.control_messages
    )


async def test_owner_joining_is_a_no_op(instance: Instance) -> None:
    """The owner presenting their own code stays owner and uses nothing up."""
    owner = await instance.user()
    session = await instance.notebook(owner)
    invite = await instance.sessions.invites.create(owner, session.id, role=READ, max_uses=1)
    assert (await instance.sessions.invites.join(owner, invite.code))[1] is SessionRole.OWNER
    assert await instance.store.sessions.list_collaborators(session.id) == []


@pytest.mark.parametrize("state", ["expired", "used up", "revoked"])
async def test_unusable_code_is_gone(instance: Instance, state: str) -> None:
    """An expired, used-up or revoked code answers 'gone' and adds nobody."""
    owner, student = await instance.user(), await instance.user()
    session = await instance.notebook(owner)
    now = utcnow()
    invite = Invite(
        code=f"code-{state.replace(' ', '-')}",
        session_id=session.id,
        role=READ,
        created_by=owner.id,
        created_at=now - timedelta(hours=2),
        expires_at=now - timedelta(hours=1) if state == "expired" else None,
        max_uses=1,
        uses=1 if state == "used up" else 0,
        revoked_at=now if state == "revoked" else None,
    )
    await instance.store.invites.create(invite)
    with pytest.raises(Gone) as caught:
        await instance.sessions.invites.join(student, invite.code)
    assert state.split()[-1] in caught.value.message
    with pytest.raises(NotFound):
        await instance.sessions.get(student, session.id)


async def test_unknown_code_is_not_found(instance: Instance) -> None:
    """A code that never existed is 404, not 410."""
    student = await instance.user()
    with pytest.raises(NotFound):
        await instance.sessions.invites.join(student, "no-such-code")


async def test_revoke_and_list_need_admin(instance: Instance) -> None:
    """Only the owner or an admin lists and revokes codes; a revoked code stops working."""
    owner, writer, student = await instance.user(), await instance.user(), await instance.user()
    session = await instance.notebook(owner)
    await instance.sessions.collaborators.set(owner, session.id, writer.id, WRITE)
    invite = await instance.sessions.invites.create(owner, session.id, role=READ)
    for action in (
        instance.sessions.invites.list(writer, session.id),
        instance.sessions.invites.revoke(writer, session.id, invite.code),
        instance.sessions.invites.create(writer, session.id, role=READ),
    ):
        with pytest.raises(PermissionDenied):
            await action
    assert [i.code for i in await instance.sessions.invites.list(owner, session.id)] == [
        invite.code
    ]
    await instance.sessions.invites.revoke(owner, session.id, invite.code)
    await instance.sessions.invites.revoke(owner, session.id, invite.code)  # idempotent
    with pytest.raises(Gone):
        await instance.sessions.invites.join(student, invite.code)


async def test_code_of_another_session_cannot_be_revoked_through_this_one(
    instance: Instance,
) -> None:
    """Revoking names the session: another session's code is 404 there."""
    owner = await instance.user()
    one, two = await instance.notebook(owner), await instance.notebook(owner)
    invite = await instance.sessions.invites.create(owner, two.id, role=READ)
    with pytest.raises(NotFound):
        await instance.sessions.invites.revoke(owner, one.id, invite.code)


@pytest.mark.parametrize("store_url", ["sqlite", "mongo"], indirect=True)
async def test_concurrent_joins_on_a_one_use_code(make_instance: MakeInstance) -> None:
    """Of many students joining at once, on two instances, with a one-use code, one wins."""
    one, two = await make_instance(), await make_instance()
    owner = await one.user()
    session = await one.notebook(owner)
    invite = await one.sessions.invites.create(owner, session.id, role=WRITE, max_uses=1)
    students = [await one.user() for _ in range(12)]
    results = await asyncio.gather(
        *(
            (one if i % 2 else two).sessions.invites.join(student, invite.code)
            for i, student in enumerate(students)
        ),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, Gone) for r in results if isinstance(r, BaseException))
    collaborators = await one.store.sessions.list_collaborators(session.id)
    assert len(collaborators) == 1
