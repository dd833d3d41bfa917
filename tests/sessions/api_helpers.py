"""What the session API tests share: a classroom of accounts with every role, JSON errors,
and notebooks to seed sessions with."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from tests.client import Account, Api

ROLES = ("owner", "admin", "write", "read", "stranger")


@dataclass
class Classroom:
    """One session and an account for each role on it (the stranger has none)."""

    api: Api
    session: dict[str, Any]
    accounts: dict[str, Account]

    @property
    def session_id(self) -> str:
        return str(self.session["id"])

    @property
    def owner(self) -> Account:
        return self.accounts["owner"]

    def headers(self, role: str) -> dict[str, str]:
        return self.accounts[role].headers


async def register_all(api: Api, count: int) -> list[Account]:
    return list(await asyncio.gather(*(api.register() for _ in range(count))))


async def grant(api: Api, owner: Account, session_id: str, user: Account, role: str) -> None:
    response = await api.http.put(
        f"/sessions/{session_id}/collaborators/{user.user['id']}",
        json={"role": role},
        headers=owner.headers,
    )
    assert response.status_code == 200, response.text


async def classroom(
    api: Api, accounts: dict[str, Account] | None = None, **session: Any
) -> Classroom:
    """A new session owned by ``accounts['owner']`` with admin, write and read granted."""
    if accounts is None:
        accounts = dict(zip(ROLES, await register_all(api, len(ROLES)), strict=True))
    created = await api.create_session(accounts["owner"], **session)
    for role in ("admin", "write", "read"):
        await grant(api, accounts["owner"], created["id"], accounts[role], role)
    return Classroom(api, created, accounts)
