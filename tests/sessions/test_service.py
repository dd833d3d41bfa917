"""The session service with a real store and room manager: create, list, read, update,
delete, fork, export, and who may do each."""

from __future__ import annotations

from datetime import timedelta

import nbformat
import pytest

from jupyter_codecrafter.errors import NotFound, PermissionDenied, ValidationFailed
from jupyter_codecrafter.rooms.notebook import find_cell
from jupyter_codecrafter.rooms.protocol import CLOSE_DELETED, CLOSE_GOING_AWAY
from jupyter_codecrafter.sessions.service import Scope
from jupyter_codecrafter.store.records import (
    Collaborator,
    SessionKind,
    SessionRole,
    UserRole,
)
from jupyter_codecrafter.utils import utcnow
from tests.notebooks import code_cell, ipynb
from tests.sessions.conftest import Instance, Join
from tests.store import factories


def sources(content: object) -> list[str]:
    assert isinstance(content, dict)
    return [cell["source"] for cell in content["cells"]]


async def test_created_session_holds_its_content(instance: Instance) -> None:
    """The content given at creation is the document everyone opens."""
    owner = await instance.user()
    session = await instance.notebook(owner, content=ipynb(code_cell("c1", "x = 1")))
    view = await instance.sessions.get(owner, session.id, include_content=True)
    assert view.role is SessionRole.OWNER
    assert sources(view.content) == ["x = 1"]
    assert [(m.user.id, m.role) for m in view.members] == [(owner.id, SessionRole.OWNER)]
    assert len((await instance.store.documents.load(session.id)).updates) == 1


async def test_file_session_holds_text(instance: Instance) -> None:
    """A file session's content is its text."""
    owner = await instance.user()
    session = await instance.sessions.create(
        owner, title="main.py", kind=SessionKind.FILE, language="python", content="print(1)\n"
    )
    view = await instance.sessions.get(owner, session.id, include_content=True)
    assert view.content == "print(1)\n"


async def test_invalid_content_creates_nothing(instance: Instance) -> None:
    """A notebook that does not validate is refused and no session appears."""
    owner = await instance.user()
    with pytest.raises(ValidationFailed):
        await instance.notebook(owner, content={"nbformat": 4, "cells": "nope"})
    assert (await instance.sessions.list(owner)).items == []


async def test_private_session_is_invisible_to_strangers(instance: Instance) -> None:
    """A stranger gets 'not found' for a private session, as for one that does not exist."""
    owner, stranger = await instance.user(), await instance.user()
    session = await instance.notebook(owner)
    for session_id in (session.id, "0" * 32):
        with pytest.raises(NotFound):
            await instance.sessions.get(stranger, session_id)


async def test_public_session_is_readable_by_anyone_signed_in(instance: Instance) -> None:
    """Anyone reads a public session, as a reader, and cannot change it."""
    owner, visitor = await instance.user(), await instance.user()
    session = await instance.notebook(owner, is_public=True)
    assert (await instance.sessions.get(visitor, session.id)).role is SessionRole.READ
    with pytest.raises(PermissionDenied):
        await instance.sessions.update(visitor, session.id, {"title": "Mine now"})


async def test_platform_admin_is_session_admin_but_not_owner(instance: Instance) -> None:
    """A platform admin manages any session but only its owner may delete it."""
    owner, admin = await instance.user(), await instance.user(UserRole.ADMIN)
    session = await instance.notebook(owner)
    updated, role = await instance.sessions.update(admin, session.id, {"title": "Renamed"})
    assert (updated.title, role) == ("Renamed", SessionRole.ADMIN)
    with pytest.raises(PermissionDenied):
        await instance.sessions.delete(admin, session.id)


async def test_update_needs_admin_and_is_seen_at_once(instance: Instance) -> None:
    """A writer cannot change the title; an admin can, and the next read shows it."""
    owner, writer, admin = await instance.user(), await instance.user(), await instance.user()
    session = await instance.notebook(owner)
    await instance.sessions.get(owner, session.id)  # cached now
    await instance.sessions.collaborators.set(owner, session.id, writer.id, SessionRole.WRITE)
    await instance.sessions.collaborators.set(owner, session.id, admin.username, SessionRole.ADMIN)
    with pytest.raises(PermissionDenied):
        await instance.sessions.update(writer, session.id, {"title": "No"})
    await instance.sessions.update(admin, session.id, {"title": "Yes", "metadata": {"week": 2}})
    view = await instance.sessions.get(writer, session.id)
    assert (view.session.title, view.session.metadata) == ("Yes", {"week": 2})
    assert view.session.updated_at >= session.updated_at


async def test_update_refuses_other_fields(instance: Instance) -> None:
    """Only title, language, is_public and metadata can change (not the owner, not nothing)."""
    owner = await instance.user()
    session = await instance.notebook(owner)
    for changes in ({}, {"owner_id": "someone"}):
        with pytest.raises(ValidationFailed):
            await instance.sessions.update(owner, session.id, changes)


async def test_making_private_reconnects_live_clients(instance: Instance, join: Join) -> None:
    """Turning a public session private closes its connections so each is authorized again."""
    owner, visitor = await instance.user(), await instance.user()
    session = await instance.notebook(owner, is_public=True)
    peer = await join(instance.rooms, session, visitor, SessionRole.READ)
    await instance.sessions.update(owner, session.id, {"is_public": False})
    await peer.client.closed()
    assert peer.client.close_code == CLOSE_GOING_AWAY
    with pytest.raises(NotFound):
        await instance.sessions.get(visitor, session.id)


async def test_delete_removes_everything_and_closes_connections(
    instance: Instance, join: Join
) -> None:
    """Deleting closes live clients (4404) and removes document, jobs, collaborators, invites."""
    owner, writer = await instance.user(), await instance.user()
    session = await instance.notebook(owner)
    await instance.sessions.collaborators.set(owner, session.id, writer.id, SessionRole.WRITE)
    invite = await instance.sessions.invites.create(owner, session.id, role=SessionRole.READ)
    await instance.store.jobs.create(factories.job(owner.id, session_id=session.id))
    peer = await join(instance.rooms, session, writer, SessionRole.WRITE)
    with pytest.raises(PermissionDenied):
        await instance.sessions.delete(writer, session.id)

    await instance.sessions.delete(owner, session.id)
    assert await peer.client.closed() == CLOSE_DELETED
    for user in (owner, writer):
        with pytest.raises(NotFound):
            await instance.sessions.get(user, session.id)
    store = instance.store
    assert (await store.documents.load(session.id)).updates == []
    assert await store.jobs.list(session_id=session.id) == []
    assert await store.sessions.list_collaborators(session.id) == []
    assert await store.invites.get(invite.code) is None


async def test_fork_copies_the_current_content(instance: Instance) -> None:
    """A fork is the caller's own session with the document as it is now, not as created."""
    teacher, student = await instance.user(), await instance.user()
    source = await instance.notebook(
        teacher,
        title="Week 1",
        content=ipynb(code_cell("c1", "x = 1")),
        is_public=True,
        metadata={"course": "CS1"},
    )
    async with instance.rooms.edit(source.id, SessionKind.NOTEBOOK) as document:
        cell = find_cell(document, "c1")
        assert cell is not None
        cell["source"].insert(5, "\ny = 2")

    fork = await instance.sessions.fork(student, source.id)
    assert (fork.owner_id, fork.title, fork.is_public) == (student.id, "Week 1 (copy)", False)
    assert fork.metadata == {"course": "CS1", "forked_from": source.id}
    view = await instance.sessions.get(student, fork.id, include_content=True)
    assert sources(view.content) == ["x = 1\ny = 2"]
    named = await instance.sessions.fork(student, source.id, title="Mine")
    assert named.title == "Mine"


async def test_fork_needs_read_access(instance: Instance) -> None:
    """Nobody can copy a private session they cannot see."""
    owner, stranger = await instance.user(), await instance.user()
    session = await instance.notebook(owner)
    with pytest.raises(NotFound):
        await instance.sessions.fork(stranger, session.id)


async def test_export_of_a_reader(instance: Instance) -> None:
    """A reader can download the notebook."""
    owner, reader = await instance.user(), await instance.user()
    session = await instance.notebook(owner, title="Lab", content=ipynb(code_cell("a", "1")))
    await instance.store.sessions.set_collaborator(
        Collaborator(session.id, reader.id, SessionRole.READ, utcnow())
    )
    export = await instance.sessions.export(reader, session.id)
    assert export.filename == "Lab.ipynb"
    exported = nbformat.reads(export.body.decode(), as_version=nbformat.NO_CONVERT)
    nbformat.validate(exported)
    assert [cell.source for cell in exported.cells] == ["1"]


@pytest.mark.parametrize("store_url", ["sqlite", "mongo"], indirect=True)
async def test_list_scopes_pages_and_roles(instance: Instance) -> None:
    """Each scope lists its sessions newest first in pages, with the caller's role on each."""
    me, other = await instance.user(), await instance.user()
    mine = [await instance.notebook(me, title=f"Mine {i}") for i in range(5)]
    theirs = [await instance.notebook(other, title=f"Theirs {i}", is_public=True) for i in range(3)]
    # A second apart: the MongoDB stand-in (nx-27017) compares datetimes to the second only.
    for i, session in enumerate(mine + theirs):
        created_at = session.created_at + timedelta(seconds=i)
        await instance.store.sessions.update(session.id, {"created_at": created_at})
    for session, role in zip(theirs[:2], (SessionRole.WRITE, SessionRole.ADMIN), strict=True):
        await instance.sessions.collaborators.set(other, session.id, me.id, role)

    pages, cursor = [], None
    while True:
        page = await instance.sessions.list(me, scope=Scope.MINE, limit=2, cursor=cursor)
        pages.append([(session.title, role) for session, role in page.items])
        cursor = page.next_cursor
        if cursor is None:
            break
    owner = SessionRole.OWNER
    assert pages == [
        [("Mine 4", owner), ("Mine 3", owner)],
        [("Mine 2", owner), ("Mine 1", owner)],
        [("Mine 0", owner)],
    ]
    shared = await instance.sessions.list(me, scope=Scope.SHARED)
    assert [(s.title, r) for s, r in shared.items] == [
        ("Theirs 1", SessionRole.ADMIN),
        ("Theirs 0", SessionRole.WRITE),
    ]
    public = await instance.sessions.list(me, scope=Scope.PUBLIC, query="THEIRS 2")
    assert [(s.title, r) for s, r in public.items] == [("Theirs 2", SessionRole.READ)]
    assert public.next_cursor is None
