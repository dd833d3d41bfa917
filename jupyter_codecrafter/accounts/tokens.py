"""Access tokens (short-lived JWT) and refresh tokens (opaque, stored hashed).

Access JWT claims: ``sub`` (user id), ``exp``, ``iat``, ``jti``, ``role``, ``typ: "access"``.
HS256 only: the algorithm is pinned when decoding, so ``alg: none`` and any other
algorithm are refused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from ..errors import InvalidToken, TokenExpired
from ..store.records import User
from ..utils import new_id, utcnow

ALGORITHM = "HS256"
ACCESS_TYPE = "access"


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    role: str
    jti: str
    issued_at: datetime
    expires_at: datetime


class AccessTokens:
    """Issue and check access JWTs signed with one secret."""

    def __init__(self, secret: str, *, ttl_s: int = 900, leeway_s: float = 10.0) -> None:
        if len(secret) < 32:
            raise ValueError("The JWT secret must be at least 32 characters.")
        self._secret = secret
        self.ttl_s = ttl_s
        self._leeway_s = leeway_s

    def issue(self, user: User, *, now: datetime | None = None) -> str:
        issued_at = now or utcnow()
        claims: dict[str, Any] = {
            "sub": user.id,
            "role": str(user.role),
            "jti": new_id(),
            "iat": issued_at,
            "exp": issued_at + timedelta(seconds=self.ttl_s),
            "typ": ACCESS_TYPE,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def decode(self, token: str) -> AccessClaims:
        """Verified claims; TokenExpired or InvalidToken otherwise."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                leeway=self._leeway_s,
                options={"require": ["sub", "exp", "iat", "jti", "role"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenExpired() from exc
        except jwt.PyJWTError as exc:
            raise InvalidToken() from exc
        if claims.get("typ") != ACCESS_TYPE:
            raise InvalidToken("This is not an access token.")
        return _claims(claims)


def _claims(claims: dict[str, Any]) -> AccessClaims:
    return AccessClaims(
        user_id=str(claims["sub"]),
        role=str(claims["role"]),
        jti=str(claims["jti"]),
        issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
        expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
    )


def new_refresh_token() -> str:
    """An opaque refresh token (256 bits of randomness)."""
    return secrets.token_urlsafe(32)


def hash_refresh_token(token: str) -> str:
    """What the store keeps: a SHA-256 of the token (it is random, so no salt is needed)."""
    return hashlib.sha256(token.encode()).hexdigest()
