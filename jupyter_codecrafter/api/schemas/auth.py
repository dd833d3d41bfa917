"""Schemas of the auth, profile and admin endpoints."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from ...store.records import ActivityEntry, User
from . import Identifier, Password, Request, Timestamp, Username

# An address's shape, not its deliverability (no mail is ever sent): what the document
# states is exactly what is checked. Stored lower-case; unique case-insensitively.
Email = Annotated[
    str,
    StringConstraints(
        max_length=254,
        pattern=r"^[^@\s\x00-\x1f\x7f]{1,64}@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$",
    ),
]
# No control characters, no blanks at either end.
DisplayName = Annotated[
    str,
    StringConstraints(
        max_length=100,
        pattern=r"^[^\s\x00-\x1f\x7f]([^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?$",
    ),
]
# A password as typed for checking, not choosing: any non-empty string up to the cap.
GivenPassword = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
# Opaque refresh tokens are 43 URL-safe characters; the cap only bounds the input.
RefreshTokenText = Annotated[str, StringConstraints(min_length=1, max_length=512)]
Preferences = Annotated[
    dict[str, Any],
    Field(
        description="Free-form JSON object (e.g. theme, editor settings), replaced as a whole; "
        "size-capped by the max_preferences_bytes setting."
    ),
]


REFRESH_COOKIE_HELP = (
    "Browsers: keep the refresh token in an HttpOnly, SameSite=Strict cookie scoped to the "
    "auth endpoints instead of returning it (refresh_token is then null)."
)
USE_COOKIE_HELP = (
    "Leave out to use the refresh cookie instead (with Jupyter's XSRF token in X-XSRFToken)."
)


class RegisterRequest(Request):
    username: Username
    email: Email
    password: Password
    refresh_cookie: Annotated[bool, Field(description=REFRESH_COOKIE_HELP)] = False


class LoginRequest(Request):
    login: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: GivenPassword
    refresh_cookie: Annotated[bool, Field(description=REFRESH_COOKIE_HELP)] = False


class RefreshRequest(Request):
    refresh_token: Annotated[RefreshTokenText | None, Field(description=USE_COOKIE_HELP)] = None


class LogoutRequest(Request):
    refresh_token: Annotated[RefreshTokenText | None, Field(description=USE_COOKIE_HELP)] = None


class UpdateProfileRequest(Request):
    """Fields left out are unchanged. A new email needs ``current_password``."""

    email: Email | None = None
    display_name: DisplayName | None = None
    preferences: Preferences | None = None
    current_password: GivenPassword | None = None


class ChangePasswordRequest(Request):
    current_password: GivenPassword
    new_password: Password


class UserOut(BaseModel):
    id: str
    username: str
    email: str
    display_name: str
    role: str
    created_at: Timestamp

    @classmethod
    def from_record(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            username=user.username,
            email=user.email,
            display_name=user.display_name,
            role=str(user.role),
            created_at=user.created_at,
        )


class ProfileOut(UserOut):
    """The signed-in user's own view: adds what only they (and admins) see."""

    preferences: dict[str, Any]
    updated_at: Timestamp
    last_login_at: Timestamp | None

    @classmethod
    def from_record(cls, user: User) -> ProfileOut:
        return cls(
            **UserOut.from_record(user).model_dump(),
            preferences=user.preferences,
            updated_at=user.updated_at,
            last_login_at=user.last_login_at,
        )


class AuthResponse(BaseModel):
    user: UserOut
    access_token: str
    refresh_token: str | None = Field(description="Null when it was set as a cookie.")
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int = Field(description="Seconds until the access token expires.")


class ProfileResponse(BaseModel):
    user: ProfileOut


class LogoutAllResponse(BaseModel):
    revoked: int = Field(description="How many refresh tokens were revoked.")


# Administration.


class SetRoleRequest(Request):
    role: Literal["user", "admin"]


class ActivityQuery(Request):
    user_id: Identifier | None = None
    session_id: Identifier | None = None
    limit: int = Field(100, ge=1, le=500)


class ActivityOut(BaseModel):
    id: str
    level: str
    message: str
    timestamp: Timestamp
    user_id: str | None
    session_id: str | None
    metadata: dict[str, Any]

    @classmethod
    def from_record(cls, entry: ActivityEntry) -> ActivityOut:
        return cls(
            id=entry.id,
            level=entry.level,
            message=entry.message,
            timestamp=entry.timestamp,
            user_id=entry.user_id,
            session_id=entry.session_id,
            metadata=entry.metadata,
        )


class ActivityResponse(BaseModel):
    entries: list[ActivityOut]
