"""Admin endpoints: roles and the activity log. Only platform admins may call them.

The first admin is never made here: ``codecrafter-admin create-user --admin`` or the
``admin_usernames`` setting makes it.
"""

from __future__ import annotations

from ..errors import PermissionDenied
from ..store.records import User, UserRole
from .base import CodeCrafterHandler
from .operation import operation
from .schemas.auth import ActivityOut, ActivityQuery, ActivityResponse, SetRoleRequest, UserOut

TAGS = ("admin",)


def require_admin(user: User) -> None:
    if user.role != UserRole.ADMIN:
        raise PermissionDenied("Only admins may do this.")


class UserRoleHandler(CodeCrafterHandler):
    @operation(
        "Set a user's platform role (admin only)",
        request=SetRoleRequest,
        responses={200: UserOut},
        tags=TAGS,
    )
    async def put(self, user_id: str, *, user: User, body: SetRoleRequest) -> None:
        require_admin(user)
        updated = await self.services.accounts.set_role(user_id, UserRole(body.role), by=user.id)
        self.reply(200, UserOut.from_record(updated))


class ActivityHandler(CodeCrafterHandler):
    @operation(
        "Read the activity log, newest first (admin only)",
        description="Security events (logins, refresh reuse, password and role changes) "
        "kept 30 days.",
        query=ActivityQuery,
        responses={200: ActivityResponse},
        tags=TAGS,
    )
    async def get(self, *, user: User, query: ActivityQuery) -> None:
        require_admin(user)
        entries = await self.services.accounts.activity.list(
            user_id=query.user_id, session_id=query.session_id, limit=query.limit
        )
        self.reply(200, ActivityResponse(entries=[ActivityOut.from_record(e) for e in entries]))


handlers = [
    (r"/admin/users/(?P<user_id>[A-Za-z0-9_-]{1,64})/role", UserRoleHandler),
    (r"/admin/activity", ActivityHandler),
]
