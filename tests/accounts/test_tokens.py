"""Access JWTs: what is accepted, and every way a token is refused."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from jupyter_codecrafter.accounts.tokens import AccessTokens, hash_refresh_token, new_refresh_token
from jupyter_codecrafter.errors import InvalidToken, TokenExpired
from jupyter_codecrafter.store.records import User, UserRole
from tests.accounts.conftest import SECRET

NOW = datetime.now(UTC).replace(microsecond=0)


def user() -> User:
    return User(
        id="u1",
        username="ada",
        email="ada@example.org",
        password_hash="x",
        created_at=NOW,
        updated_at=NOW,
        role=UserRole.ADMIN,
    )


def claims(**overrides: Any) -> dict[str, Any]:
    base = {"sub": "u1", "role": "user", "jti": "j1", "typ": "access"}
    base |= {"iat": NOW, "exp": NOW + timedelta(minutes=15)}
    return {**base, **overrides}


def unsigned(payload: dict[str, Any], header: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data, default=lambda d: int(d.timestamp())).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{part(header)}.{part(payload)}."


def test_issued_token_carries_the_documented_claims(access_tokens: AccessTokens) -> None:
    """An issued token decodes to the user's id and role, 15 minutes of validity, HS256."""
    token = access_tokens.issue(user(), now=NOW)
    decoded = access_tokens.decode(token)
    assert (decoded.user_id, decoded.role) == ("u1", "admin")
    assert decoded.expires_at - decoded.issued_at == timedelta(minutes=15)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    raw = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert set(raw) == {"sub", "exp", "iat", "jti", "role", "typ"}


def test_each_token_has_its_own_jti(access_tokens: AccessTokens) -> None:
    """Two tokens issued at the same instant differ (unique jti)."""
    first, second = access_tokens.issue(user(), now=NOW), access_tokens.issue(user(), now=NOW)
    assert access_tokens.decode(first).jti != access_tokens.decode(second).jti


def test_expired_token_is_refused_beyond_the_leeway(access_tokens: AccessTokens) -> None:
    """A token expired longer ago than the leeway is TokenExpired; within it, accepted."""
    late = jwt.encode(claims(exp=NOW - timedelta(seconds=60)), SECRET, algorithm="HS256")
    with pytest.raises(TokenExpired):
        access_tokens.decode(late)
    just = jwt.encode(claims(exp=datetime.now(UTC) - timedelta(seconds=2)), SECRET)
    assert access_tokens.decode(just).user_id == "u1"


def test_forged_signature_is_refused(access_tokens: AccessTokens) -> None:
    """A token signed with another secret is refused."""
    forged = jwt.encode(claims(role="admin"), "another-secret-that-is-long-enough-000000")
    with pytest.raises(InvalidToken) as info:
        access_tokens.decode(forged)
    assert not isinstance(info.value, TokenExpired)


def test_tampered_payload_is_refused(access_tokens: AccessTokens) -> None:
    """Changing the role in a genuine token's payload breaks its signature."""
    header, _, signature = access_tokens.issue(user(), now=NOW).split(".")
    payload = unsigned(claims(role="admin"), {}).split(".")[1]
    with pytest.raises(InvalidToken):
        access_tokens.decode(f"{header}.{payload}.{signature}")


def test_alg_none_is_refused(access_tokens: AccessTokens) -> None:
    """An unsigned token (alg: none) is refused, whatever it claims."""
    token = unsigned(claims(role="admin"), {"alg": "none", "typ": "JWT"})
    with pytest.raises(InvalidToken):
        access_tokens.decode(token)


@pytest.mark.parametrize("algorithm", ["HS384", "HS512"])
def test_other_algorithms_are_refused(access_tokens: AccessTokens, algorithm: str) -> None:
    """Even with the right secret, only HS256 is accepted (the algorithm is pinned)."""
    token = jwt.encode(claims(), SECRET, algorithm=algorithm)
    with pytest.raises(InvalidToken):
        access_tokens.decode(token)


@pytest.mark.parametrize("missing", ["sub", "exp", "iat", "jti", "role"])
def test_token_without_a_required_claim_is_refused(
    access_tokens: AccessTokens, missing: str
) -> None:
    """A token lacking any documented claim is refused."""
    payload = claims()
    del payload[missing]
    with pytest.raises(InvalidToken):
        access_tokens.decode(jwt.encode(payload, SECRET, algorithm="HS256"))


def test_token_of_another_type_is_refused(access_tokens: AccessTokens) -> None:
    """A correctly signed token whose typ is not 'access' is refused."""
    with pytest.raises(InvalidToken):
        access_tokens.decode(jwt.encode(claims(typ="refresh"), SECRET, algorithm="HS256"))


def test_token_issued_in_the_future_is_refused(access_tokens: AccessTokens) -> None:
    """A token whose iat is beyond the leeway in the future is refused."""
    future = datetime.now(UTC) + timedelta(minutes=5)
    token = jwt.encode(claims(iat=future, exp=future + timedelta(minutes=15)), SECRET)
    with pytest.raises(InvalidToken):
        access_tokens.decode(token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "Bearer x.y.z"])
def test_garbage_is_refused(access_tokens: AccessTokens, garbage: str) -> None:
    """Strings that are not JWTs are InvalidToken, never another exception."""
    with pytest.raises(InvalidToken):
        access_tokens.decode(garbage)


def test_short_secret_is_rejected() -> None:
    """A secret shorter than 32 characters cannot be configured."""
    with pytest.raises(ValueError, match="at least 32"):
        AccessTokens("short")


def test_refresh_tokens_are_random_and_stored_as_sha256() -> None:
    """Refresh tokens are unique, opaque, and kept only as a SHA-256 hex digest."""
    tokens = {new_refresh_token() for _ in range(100)}
    assert len(tokens) == 100
    token = tokens.pop()
    assert len(token) >= 43
    digest = hash_refresh_token(token)
    assert len(digest) == 64 and token not in digest
    assert digest == hash_refresh_token(token)
