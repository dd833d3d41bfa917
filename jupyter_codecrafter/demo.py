"""Demo servers (the Binder demo): one visitor, signed in to CodeCrafter from the start.

With ``demo_username`` set, start-up makes sure that account exists (a random password
nobody knows) and, with ``demo_notebook``, that it owns a welcome session made from that
notebook; JupyterLab's default workspace is then seeded to open it. Whoever Jupyter itself
has signed in (Binder's token) gets a sign-in of the demo account from ``POST
/auth/refresh`` with no refresh token, which the panel calls at start-up (``api/auth.py``).

Off by default: on any server with more than one person, each has an account of their own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .accounts.service import AccountService
from .errors import NotFound
from .sessions.service import SessionService
from .store.records import Session, SessionKind, User

log = logging.getLogger("jupyter_codecrafter.demo")

DEFAULT_TITLE = "Welcome to CodeCrafter"
DRIVE = "CodeCrafter"
DIVISION_SLASH = "\u2215"  # the labextension's drive of sessions: CodeCrafter:<id>/<title>.ipynb


@dataclass(frozen=True, slots=True)
class Demo:
    user: User
    welcome: Session | None


async def prepare_demo(
    accounts: AccountService, sessions: SessionService, username: str, notebook: str
) -> Demo:
    """The demo account, and its welcome session when a notebook is configured."""
    user = await demo_account(accounts, username)
    welcome = await welcome_session(sessions, user, Path(notebook)) if notebook else None
    log.info("Demo mode: Jupyter's user is signed in to CodeCrafter as %r", user.username)
    return Demo(user, welcome)


async def demo_account(accounts: AccountService, username: str) -> User:
    try:
        return await accounts.get_user_by_username(username)
    except NotFound:
        password = secrets.token_urlsafe(32)  # never used: the demo signs in through Jupyter
        return await accounts.create_user(username, f"{username}@demo.invalid", password)


async def welcome_session(sessions: SessionService, user: User, notebook: Path) -> Session:
    """The demo user's session titled as the notebook (created from it the first time)."""
    content: dict[str, Any] = json.loads(await asyncio.to_thread(notebook.read_text))
    title = content.get("metadata", {}).get("title") or DEFAULT_TITLE
    page = await sessions.list(user, query=title, limit=1)
    for session, _role in page.items:
        if session.title == title:
            return session
    return await sessions.create(
        user, title=title, kind=SessionKind.NOTEBOOK, language="python", content=content
    )


def drive_path(session: Session) -> str:
    """Where the labextension's drive shows a notebook session."""
    # As labextension/src/paths.ts names it: a slash in a title is a division slash.
    name = session.title.replace("/", DIVISION_SLASH).strip() or "Untitled"
    return f"{DRIVE}:{session.id}/{name if name.endswith('.ipynb') else name + '.ipynb'}"


def seed_workspace(workspaces_dir: Path, session: Session) -> bool:
    """Make JupyterLab's default workspace open the welcome session, unless the visitor
    already has a default workspace; whether it was written."""
    from jupyterlab_server.workspaces_handler import WorkspacesManager

    manager = WorkspacesManager(str(workspaces_dir))
    if any(space["metadata"]["id"] == "default" for space in manager.list_workspaces()):
        return False
    path, widget = drive_path(session), f"notebook:{drive_path(session)}"
    layout = {"main": {"dock": {"type": "tab-area", "currentIndex": 0, "widgets": [widget]}}}
    data = {"layout-restorer:data": layout, widget: {"data": {"path": path, "factory": "Notebook"}}}
    manager.save("default", json.dumps({"data": data, "metadata": {"id": "default"}}))
    return True
