"""The account service: registration, login, token rotation, authentication, profiles.

No tornado here: the API handlers, the identity provider and the admin CLI call these
methods and serialize what they return.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .. import metrics
from ..activity import ActivityLog
from ..errors import (
    InvalidCredentials,
    InvalidToken,
    NotFound,
    RateLimited,
    TokenReused,
    ValidationFailed,
)
from ..ratelimit import SignInLimits
from ..store.base import Store
from ..store.records import RefreshToken, User, UserRole
from ..utils import new_id, utcnow
from .passwords import Passwords
from .tokens import AccessTokens, hash_refresh_token, new_refresh_token

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds until the access token expires
    token_type: str = "Bearer"  # noqa: S105 - a scheme name, not a secret


class AccountService:
    def __init__(
        self,
        store: Store,
        passwords: Passwords,
        access_tokens: AccessTokens,
        activity: ActivityLog,
        *,
        refresh_ttl_s: int = 7 * 24 * 3600,
        max_preferences_bytes: int = 16_384,
        sign_in_limits: SignInLimits | None = None,
    ) -> None:
        self._store = store
        self._limits = sign_in_limits
        self._passwords = passwords
        self._access = access_tokens
        self.activity = activity  # the admin API reads it
        self._refresh_ttl_s = refresh_ttl_s
        self._max_preferences_bytes = max_preferences_bytes

    # Sign-up, sign-in, tokens.

    async def register(
        self, username: str, email: str, password: str, *, ip: str | None = None
    ) -> tuple[User, TokenPair]:
        """Create an account (role user, always) and sign it in; DuplicateError names a
        taken field."""
        user = await self.create_user(username, email, password)
        await self.activity.record("user registered", user_id=user.id, ip=ip)
        return user, await self._issue(user, family_id=new_id())

    async def create_user(
        self, username: str, email: str, password: str, *, role: UserRole = UserRole.USER
    ) -> User:
        """The account alone, no tokens (the admin CLI makes admins with this)."""
        now = utcnow()
        user = User(
            id=new_id(),
            username=username.strip().lower(),
            email=normalise_email(email),
            password_hash=await self._passwords.hash(password),
            created_at=now,
            updated_at=now,
            role=role,
            display_name=username.strip(),
        )
        await self._store.users.create(user)
        return user

    async def login(
        self, login: str, password: str, *, ip: str | None = None
    ) -> tuple[User, TokenPair]:
        """A token pair; the same error for an unknown login and a wrong password."""
        user = await self.check_password(login, password, ip=ip)
        return user, await self._issue(user, family_id=new_id())

    async def check_password(self, login: str, password: str, *, ip: str | None = None) -> User:
        """The user whose login and password these are, with ``last_login_at`` recorded;
        InvalidCredentials otherwise, RateLimited after too many failures for this account
        or address. The attempted login is never recorded: people type passwords into it."""
        await self._check_sign_in_limits(login, ip)
        user = await self._store.users.get_by_login(login.strip().lower())
        ok = await self._passwords.verify(user.password_hash if user else None, password)
        if user is None or not ok:
            await self._sign_in_failed(login, ip, user)
            raise InvalidCredentials()
        user = await self._after_login(user, password)
        if self._limits is not None:
            await self._limits.succeeded(login)
        metrics.sign_in("succeeded")
        await self.activity.record("login succeeded", user_id=user.id, ip=ip)
        return user

    async def _check_sign_in_limits(self, login: str, ip: str | None) -> None:
        if self._limits is None:
            return
        try:
            await self._limits.check(login, ip)
        except RateLimited:
            metrics.sign_in("refused")
            raise

    async def _sign_in_failed(self, login: str, ip: str | None, user: User | None) -> None:
        metrics.sign_in("failed")
        if self._limits is not None:
            await self._limits.failed(login, ip)
        user_id = user.id if user else None
        await self.activity.record("login failed", level="warning", user_id=user_id, ip=ip)

    async def _after_login(self, user: User, password: str) -> User:
        fields: dict[str, object] = {"last_login_at": utcnow()}
        if self._passwords.needs_rehash(user.password_hash):
            fields["password_hash"] = await self._passwords.hash(password)
        return await self._store.users.update(user.id, fields) or user

    async def refresh(self, refresh_token: str, *, ip: str | None = None) -> tuple[User, TokenPair]:
        """Rotate: the old token is spent; spending it twice revokes its whole family."""
        stored = await self._store.tokens.get_by_hash(hash_refresh_token(refresh_token))
        now = utcnow()
        if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
            raise InvalidToken("The refresh token is invalid or expired.")
        if not await self._store.tokens.mark_used(stored.id, now):
            await self._store.tokens.revoke_family(stored.family_id, now)
            await self.activity.record(
                "refresh token reused; family revoked",
                level="warning",
                user_id=stored.user_id,
                ip=ip,
            )
            raise TokenReused()
        user = await self._store.users.get(stored.user_id)
        if user is None:
            raise InvalidToken("The account no longer exists.")
        return user, await self._issue(user, family_id=stored.family_id)

    async def sign_in(self, user: User, *, ip: str | None = None) -> TokenPair:
        """A new sign-in for a user Jupyter has already authenticated (its login cookie)."""
        await self.activity.record("signed in through Jupyter", user_id=user.id, ip=ip)
        return await self._issue(user, family_id=new_id())

    async def logout(self, refresh_token: str) -> None:
        """Revoke one sign-in: the token's family, so its rotated copies die with it.
        An unknown token is not an error (logging out twice is harmless)."""
        stored = await self._store.tokens.get_by_hash(hash_refresh_token(refresh_token))
        if stored is not None:
            await self._store.tokens.revoke_family(stored.family_id, utcnow())

    async def logout_all(self, user: User) -> int:
        """Revoke every refresh token of the user; how many."""
        revoked = await self._store.tokens.revoke_user(user.id, utcnow())
        await self.activity.record("logged out everywhere", user_id=user.id, revoked=revoked)
        return revoked

    async def authenticate(self, access_token: str) -> User:
        """The user an access token belongs to; 401 errors for bad tokens or deleted users."""
        claims = self._access.decode(access_token)
        user = await self._store.users.get(claims.user_id)
        if user is None:
            raise InvalidToken("The account no longer exists.")
        return user

    def user_id_of(self, access_token: str | None) -> str | None:
        """The user id of a valid (signed, unexpired) access token, without a store lookup."""
        if not access_token:
            return None
        try:
            return self._access.decode(access_token).user_id
        except InvalidToken:
            return None

    async def _issue(self, user: User, *, family_id: str) -> TokenPair:
        token = new_refresh_token()
        now = utcnow()
        await self._store.tokens.add(
            RefreshToken(
                id=new_id(),
                user_id=user.id,
                family_id=family_id,
                token_hash=hash_refresh_token(token),
                created_at=now,
                expires_at=now + timedelta(seconds=self._refresh_ttl_s),
            )
        )
        return TokenPair(
            access_token=self._access.issue(user, now=now),
            refresh_token=token,
            expires_in=self._access.ttl_s,
        )

    # Profile.

    async def update_profile(
        self,
        user: User,
        *,
        email: str | None = None,
        display_name: str | None = None,
        preferences: dict[str, Any] | None = None,
        current_password: str | None = None,
    ) -> User:
        """Change the given fields; a new email needs the current password."""
        fields: dict[str, Any] = {}
        if email is not None and normalise_email(email) != user.email:
            await self._require_password(user, current_password)
            fields["email"] = normalise_email(email)
        if display_name is not None:
            fields["display_name"] = display_name
        if preferences is not None:
            self._check_preferences(preferences)
            fields["preferences"] = preferences
        if not fields:
            return user
        fields["updated_at"] = utcnow()
        updated = await self._store.users.update(user.id, fields)
        if updated is None:
            raise InvalidToken("The account no longer exists.")
        if "email" in fields:
            await self.activity.record("email changed", user_id=user.id)
        return updated

    async def change_password(
        self, user: User, current_password: str, new_password: str, *, ip: str | None = None
    ) -> TokenPair:
        """Set a new password, revoke every refresh token of the user (all other sign-ins
        end), and sign this one in again with a fresh pair."""
        await self._require_password(user, current_password)
        password_hash = await self._passwords.hash(new_password)
        now = utcnow()
        await self._store.users.update(user.id, {"password_hash": password_hash, "updated_at": now})
        revoked = await self._store.tokens.revoke_user(user.id, now)
        await self.activity.record("password changed", user_id=user.id, ip=ip, revoked=revoked)
        return await self._issue(user, family_id=new_id())

    async def _require_password(self, user: User, password: str | None) -> None:
        if not password or not await self._passwords.verify(user.password_hash, password):
            await self.activity.record(
                "current password check failed", level="warning", user_id=user.id
            )
            raise InvalidCredentials("The current password is wrong.")

    def _check_preferences(self, preferences: dict[str, Any]) -> None:
        size = len(json.dumps(preferences, separators=(",", ":")).encode())
        if size > self._max_preferences_bytes:
            message = f"At most {self._max_preferences_bytes} bytes of JSON (got {size})."
            raise ValidationFailed(details=[{"field": "preferences", "message": message}])

    # Administration (the admin API and CLI).

    async def get_user(self, user_id: str) -> User:
        user = await self._store.users.get(user_id)
        if user is None:
            raise NotFound("No such user.")
        return user

    async def get_user_by_username(self, username: str) -> User:
        user = await self._store.users.get_by_username(username.strip().lower())
        if user is None:
            raise NotFound(f"No user named {username!r}.")
        return user

    async def set_role(self, user_id: str, role: UserRole, *, by: str | None = None) -> User:
        """Give a user a role; ``by`` is who did it (a user id, or what configured it)."""
        user = await self.get_user(user_id)
        if user.role == role:
            return user
        updated = await self._store.users.update(user_id, {"role": role, "updated_at": utcnow()})
        if updated is None:
            raise NotFound("No such user.")
        await self.activity.record(
            "role changed", user_id=user_id, old_role=str(user.role), new_role=str(role), by=by
        )
        return updated

    async def delete_user(self, user_id: str, *, by: str | None = None) -> bool:
        """Delete an account: its sign-ins end and its collaborator entries go. Sessions it
        owns stay (an admin can still manage them)."""
        await self._store.tokens.revoke_user(user_id, utcnow())
        await self._store.sessions.remove_user(user_id)
        deleted = await self._store.users.delete(user_id)
        if deleted:
            await self.activity.record("user deleted", level="warning", user_id=user_id, by=by)
        return deleted

    async def promote_admins(self, usernames: Iterable[str]) -> None:
        """Make the configured accounts admins (start-up); names not registered are skipped."""
        for username in usernames:
            user = await self._store.users.get_by_username(username.strip().lower())
            if user is None:
                log.warning("admin_usernames: no account named %r yet", username)
            elif user.role != UserRole.ADMIN:
                await self.set_role(user.id, UserRole.ADMIN, by="admin_usernames setting")


def normalise_email(email: str) -> str:
    """Emails compare and are unique case-insensitively, without surrounding blanks."""
    return email.strip().lower()
