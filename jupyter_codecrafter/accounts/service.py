"""The account service: registration, login, token rotation, authentication.

No tornado here: the API handlers call these methods and serialize what they return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from ..activity import ActivityLog
from ..errors import AuthenticationFailed, InvalidCredentials, InvalidToken, TokenReused
from ..store.base import Store
from ..store.records import RefreshToken, User, UserRole
from ..utils import new_id, utcnow
from .passwords import Passwords
from .tokens import AccessTokens, hash_refresh_token, new_refresh_token


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
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._access = access_tokens
        self._activity = activity
        self._refresh_ttl_s = refresh_ttl_s

    async def register(
        self, username: str, email: str, password: str, *, role: UserRole = UserRole.USER
    ) -> tuple[User, TokenPair]:
        """Create an account and sign it in; DuplicateError names a taken field."""
        user = await self.create_user(username, email, password, role=role)
        await self._activity.record("user registered", user_id=user.id)
        return user, await self._issue(user, family_id=new_id())

    async def create_user(
        self, username: str, email: str, password: str, *, role: UserRole = UserRole.USER
    ) -> User:
        now = utcnow()
        user = User(
            id=new_id(),
            username=username.lower(),
            email=email.lower(),
            password_hash=await self._passwords.hash(password),
            created_at=now,
            updated_at=now,
            role=role,
            display_name=username,
        )
        await self._store.users.create(user)
        return user

    async def login(self, login: str, password: str) -> tuple[User, TokenPair]:
        """Same error for an unknown login and a wrong password."""
        user = await self._store.users.get_by_login(login.strip().lower())
        ok = await self._passwords.verify(user.password_hash if user else None, password)
        if user is None or not ok:
            await self._activity.record(
                "login failed", level="warning", user_id=user.id if user else None
            )
            raise InvalidCredentials()
        user = await self._after_login(user, password)
        await self._activity.record("login succeeded", user_id=user.id)
        return user, await self._issue(user, family_id=new_id())

    async def _after_login(self, user: User, password: str) -> User:
        fields: dict[str, object] = {"last_login_at": utcnow()}
        if self._passwords.needs_rehash(user.password_hash):
            fields["password_hash"] = await self._passwords.hash(password)
        return await self._store.users.update(user.id, fields) or user

    async def refresh(self, refresh_token: str) -> tuple[User, TokenPair]:
        """Rotate: the old token is spent; spending it twice revokes its whole family."""
        stored = await self._store.tokens.get_by_hash(hash_refresh_token(refresh_token))
        now = utcnow()
        if stored is None or stored.revoked_at is not None or stored.expires_at <= now:
            raise InvalidToken("The refresh token is invalid or expired.")
        if not await self._store.tokens.mark_used(stored.id, now):
            await self._store.tokens.revoke_family(stored.family_id, now)
            await self._activity.record(
                "refresh token reused; family revoked", level="warning", user_id=stored.user_id
            )
            raise TokenReused()
        user = await self._store.users.get(stored.user_id)
        if user is None:
            raise InvalidToken("The account no longer exists.")
        return user, await self._issue(user, family_id=stored.family_id)

    async def logout(self, refresh_token: str) -> None:
        """Revoke one refresh token (its family, so rotated copies die with it)."""
        stored = await self._store.tokens.get_by_hash(hash_refresh_token(refresh_token))
        if stored is not None:
            await self._store.tokens.revoke_family(stored.family_id, utcnow())

    async def logout_all(self, user: User) -> int:
        return await self._store.tokens.revoke_user(user.id, utcnow())

    async def authenticate(self, access_token: str) -> User:
        """The user an access token belongs to; 401 errors for bad tokens or deleted users."""
        claims = self._access.decode(access_token)
        user = await self._store.users.get(claims.user_id)
        if user is None:
            raise AuthenticationFailed("The account no longer exists.")
        return user

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
