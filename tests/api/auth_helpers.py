"""Helpers for the auth and security API tests: forged tokens, admins, JSON errors.

Admins are made the only way the product allows, with ``codecrafter-admin`` on the
server's own store (run in process, in a thread, pointed at the server's database).
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from jupyter_codecrafter.admin_cli import main as admin_cli
from tests.client import Account, Api
from tests.server import JupyterServer


def data_dir(server: JupyterServer) -> Path:
    """CODECRAFTER_DATA_DIR of a server started by tests.server.start_server: where it keeps
    its database and generated JWT secret."""
    return server.root.parent / "codecrafter"


def jwt_secret(server: JupyterServer) -> str:
    """The secret the server generated (and keeps) to sign access tokens."""
    return (data_dir(server) / "jwt_secret").read_text().strip()


def jupyter_token(server: JupyterServer) -> str:
    """The Jupyter server's own token, from its runtime info file."""
    [info] = (server.root.parent / "runtime").glob("jpserver-*.json")
    return str(json.loads(info.read_text())["token"])


def forge(secret: str, *, algorithm: str = "HS256", **overrides: Any) -> str:
    """An access token with the server's claims layout, changed by ``overrides``."""
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "sub": uuid.uuid4().hex,
        "role": "user",
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "iat": now,
        "exp": now + timedelta(minutes=15),
    }
    return jwt.encode({**claims, **overrides}, secret, algorithm=algorithm)


def unsigned_token(**claims: Any) -> str:
    """An ``alg: none`` token: header and payload, no signature."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


async def codecrafter_admin(server: JupyterServer, *args: str) -> None:
    """Run ``codecrafter-admin <args>`` against the server's store."""
    config = data_dir(server).parent / "admin_cli_config.py"
    config.write_text(f"c.CodeCrafter.store_url = 'sqlite:///{data_dir(server)}/codecrafter.db'\n")
    await asyncio.to_thread(admin_cli, ["--config", str(config), *args])


async def register_admin(api: Api, server: JupyterServer) -> Account:
    """A registered account promoted to admin with the CLI."""
    account = await api.register()
    await codecrafter_admin(server, "set-role", account.user["username"], "admin")
    return account


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
