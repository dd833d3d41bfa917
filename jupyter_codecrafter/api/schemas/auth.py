"""Schemas of the auth endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, EmailStr, StringConstraints

from ...store.records import User
from . import Password, Request, Username


class RegisterRequest(Request):
    username: Username
    email: EmailStr
    password: Password


class LoginRequest(Request):
    login: Annotated[str, StringConstraints(min_length=1, max_length=320)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=1024)]


class UserOut(BaseModel):
    id: str
    username: str
    email: str
    display_name: str
    role: str
    created_at: datetime

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


class AuthResponse(BaseModel):
    user: UserOut
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int
