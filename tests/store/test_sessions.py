"""SessionRepository: sessions, listing and paging, collaborators."""

from __future__ import annotations

import pytest

from jupyter_codecrafter.store import Store
from jupyter_codecrafter.store.records import Session, SessionKind, SessionRole

from . import factories as f


def newest_first(sessions: list[Session]) -> list[Session]:
    return sorted(sessions, key=lambda s: (s.created_at, s.id), reverse=True)


async def create_all(store: Store, sessions: list[Session]) -> list[Session]:
    for session in sessions:
        await store.sessions.create(session)
    return sessions


async def test_created_session_reads_back_unchanged(store: Store) -> None:
    """A session reads back exactly as created, metadata included."""
    session = f.session(
        "owner",
        title="Week 1 — Lists",
        kind=SessionKind.FILE,
        is_public=True,
        metadata={"path": "a.py", "tags": ["x", 2], "nested": {"ok": True, "none": None}},
    )
    await store.sessions.create(session)
    stored = await store.sessions.get(session.id)
    assert stored == session
    assert stored is not None
    assert isinstance(stored.kind, SessionKind)
    assert await store.sessions.get("missing") is None


async def test_update_returns_the_updated_session(store: Store) -> None:
    """Updating title, visibility and metadata returns the new session; reads agree."""
    session = f.session("owner")
    await store.sessions.create(session)
    changes = {"title": "Renamed", "is_public": True, "metadata": {"k": 1}, "updated_at": f.at(5)}
    updated = await store.sessions.update(session.id, changes)
    assert updated is not None
    assert (updated.title, updated.is_public, updated.metadata) == ("Renamed", True, {"k": 1})
    assert updated.updated_at == f.at(5)
    assert await store.sessions.get(session.id) == updated
    assert await store.sessions.update("missing", {"title": "x"}) is None
    assert await store.sessions.update(session.id, {}) == updated


async def test_delete_takes_collaborators_and_invites_but_not_documents(store: Store) -> None:
    """Deleting a session removes its collaborators and invites; documents and jobs stay."""
    session = f.session("owner")
    await store.sessions.create(session)
    await store.sessions.set_collaborator(f.collaborator(session.id, "u1"))
    invite = f.invite(session.id)
    await store.invites.create(invite)
    job = f.job("owner", session_id=session.id)
    await store.jobs.create(job)
    await store.documents.append(session.id, b"update")
    assert await store.sessions.delete(session.id) is True
    assert await store.sessions.get(session.id) is None
    assert await store.sessions.list_collaborators(session.id) == []
    assert await store.invites.get(invite.code) is None
    assert await store.jobs.get(job.id) == job
    assert (await store.documents.load(session.id)).updates == [b"update"]
    assert await store.sessions.delete(session.id) is False


async def test_pages_cover_every_session_once_newest_first(store: Store) -> None:
    """Paging through sessions, several created at the same instant, yields each once in
    (created_at, id) descending order."""
    times = [0, 1, 1, 1, 2, 2, 3, 4]
    sessions = await create_all(store, [f.session("o", created_at=f.at(t)) for t in times])
    pages: list[list[Session]] = []
    before = None
    while page := await store.sessions.list(limit=3, before=before):
        pages.append(page)
        before = (page[-1].created_at, page[-1].id)
    assert [len(page) for page in pages] == [3, 3, 2]
    assert [s for page in pages for s in page] == newest_first(sessions)


async def test_limit_caps_the_page(store: Store) -> None:
    """A page holds at most ``limit`` sessions, and none for a limit of 0."""
    await create_all(store, [f.session("o", created_at=f.at(t)) for t in range(4)])
    assert len(await store.sessions.list(limit=2)) == 2
    assert await store.sessions.list(limit=0) == []


async def test_owner_member_and_public_filters(store: Store) -> None:
    """Filters select what a user owns, what they collaborate on, and what is public."""
    mine = f.session("me", created_at=f.at(1))
    shared = f.session("you", created_at=f.at(2))
    public = f.session("you", is_public=True, created_at=f.at(3))
    mine_public = f.session("me", is_public=True, created_at=f.at(4))
    await create_all(store, [mine, shared, public, mine_public])
    await store.sessions.set_collaborator(f.collaborator(shared.id, "me"))
    await store.sessions.set_collaborator(f.collaborator(public.id, "them"))
    assert await store.sessions.list(owner_id="me") == [mine_public, mine]
    assert await store.sessions.list(member_id="me") == [shared]
    assert await store.sessions.list(member_id="nobody") == []
    assert await store.sessions.list(public=True) == [mine_public, public]
    assert await store.sessions.list(public=False) == [shared, mine]
    assert await store.sessions.list(owner_id="me", public=False) == [mine]
    assert await store.sessions.list(member_id="them", public=True) == [public]


async def test_member_filter_never_lists_own_sessions(store: Store) -> None:
    """A session the user owns is not listed as one they are a member of."""
    own = await create_all(store, [f.session("me")])
    await store.sessions.set_collaborator(f.collaborator(own[0].id, "me"))
    assert await store.sessions.list(member_id="me") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("lists", ["Week 1: Lists"]),
        ("WEEK", ["Week 2: 50% off_sale", "Week 1: Lists"]),
        ("%", ["Week 2: 50% off_sale"]),
        ("_", ["Week 2: 50% off_sale"]),
        (".*", ["a.*b (c)?"]),
        ("(c)?", ["a.*b (c)?"]),
        ("\\", ["back\\slash"]),
        ("élan", ["Élan vital"]),
        ("", ["Élan vital", "back\\slash", "a.*b (c)?", "Week 2: 50% off_sale", "Week 1: Lists"]),
        ("nothing", []),
    ],
)
async def test_query_is_a_literal_case_insensitive_substring(
    store: Store, query: str, expected: list[str]
) -> None:
    """Searching titles ignores case and treats %, _, regex characters literally."""
    titles = ["Week 1: Lists", "Week 2: 50% off_sale", "a.*b (c)?", "back\\slash", "Élan vital"]
    await create_all(
        store, [f.session("o", title=t, created_at=f.at(i)) for i, t in enumerate(titles)]
    )
    assert [s.title for s in await store.sessions.list(query=query)] == expected


async def test_collaborator_set_get_and_list_oldest_first(store: Store) -> None:
    """Collaborators read back as set, listed oldest first, per session."""
    later = f.collaborator("s1", "u1", role=SessionRole.ADMIN, added_at=f.at(2))
    earlier = f.collaborator("s1", "u2", role=SessionRole.READ, added_at=f.at(1))
    elsewhere = f.collaborator("s2", "u1")
    for collaborator in (later, earlier, elsewhere):
        await store.sessions.set_collaborator(collaborator)
    assert await store.sessions.get_collaborator("s1", "u1") == later
    assert await store.sessions.get_collaborator("s1", "nobody") is None
    assert await store.sessions.list_collaborators("s1") == [earlier, later]
    stored = await store.sessions.get_collaborator("s1", "u2")
    assert stored is not None
    assert isinstance(stored.role, SessionRole)


async def test_setting_a_collaborator_again_changes_the_role_only(store: Store) -> None:
    """Setting an existing collaborator replaces the role and keeps when they were added."""
    await store.sessions.set_collaborator(f.collaborator("s1", "u1", added_at=f.at(1)))
    await store.sessions.set_collaborator(
        f.collaborator("s1", "u1", role=SessionRole.READ, added_at=f.at(9))
    )
    assert await store.sessions.list_collaborators("s1") == [
        f.collaborator("s1", "u1", role=SessionRole.READ, added_at=f.at(1))
    ]


async def test_remove_collaborator_and_user(store: Store) -> None:
    """Removing a collaborator answers whether one was there; removing a user clears all."""
    for session_id in ("s1", "s2"):
        await store.sessions.set_collaborator(f.collaborator(session_id, "u1"))
        await store.sessions.set_collaborator(f.collaborator(session_id, "u2"))
    assert await store.sessions.remove_collaborator("s1", "u2") is True
    assert await store.sessions.remove_collaborator("s1", "u2") is False
    await store.sessions.remove_user("u1")
    assert await store.sessions.list_collaborators("s1") == []
    assert [c.user_id for c in await store.sessions.list_collaborators("s2")] == ["u2"]
