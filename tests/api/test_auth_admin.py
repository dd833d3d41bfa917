"""Admins: the first one from the CLI, roles set by admins, and the security activity log."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import datetime

from tests.api.auth_helpers import data_dir, register_admin
from tests.client import Api, assert_error
from tests.server import FAST_PASSWORD_HASHING, JupyterServer


async def test_first_admin_from_the_cli_is_the_servers_admin(
    api: Api, embedded_server: JupyterServer
) -> None:
    """codecrafter-admin, given the server's own settings (CODECRAFTER_DATA_DIR), creates an
    admin that can sign in to the running server and use admin endpoints."""
    name = f"a{uuid.uuid4().hex[:10]}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODECRAFTER_")}
    env |= FAST_PASSWORD_HASHING | {"CODECRAFTER_DATA_DIR": str(data_dir(embedded_server))}
    created = await asyncio.to_thread(
        subprocess.run,
        [
            sys.executable,
            "-m",
            "jupyter_codecrafter.admin_cli",
            "create-user",
            "--admin",
            "--password-stdin",
            name,
            f"{name}@example.org",
        ],
        input="the first admin\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    login = await api.http.post("/auth/login", json={"login": name, "password": "the first admin"})
    assert login.status_code == 200 and login.json()["user"]["role"] == "admin"
    token = login.json()["access_token"]
    activity = await api.http.get("/admin/activity", headers={"Authorization": f"Bearer {token}"})
    assert activity.status_code == 200


async def test_admins_set_roles_and_the_change_is_logged(
    api: Api, embedded_server: JupyterServer
) -> None:
    """An admin promotes a user (who then may use admin endpoints); the change is in the
    activity log with who made it. Unknown users are 404, unknown roles 422."""
    admin, user = await register_admin(api, embedded_server), await api.register()
    path = f"/admin/users/{user.user['id']}/role"
    promoted = await api.http.put(path, headers=admin.headers, json={"role": "admin"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    assert (await api.http.get("/admin/activity", headers=user.headers)).status_code == 200
    log = await api.http.get(
        "/admin/activity", headers=admin.headers, params={"user_id": user.user["id"]}
    )
    change = next(e for e in log.json()["entries"] if e["message"] == "role changed")
    assert change["metadata"] == {"old_role": "user", "new_role": "admin", "by": admin.user["id"]}
    missing = await api.http.put(
        f"/admin/users/{uuid.uuid4().hex}/role", headers=admin.headers, json={"role": "user"}
    )
    assert_error(missing, 404, "not_found")
    assert_error(await api.http.put(path, headers=admin.headers, json={"role": "root"}), 422)


async def test_security_events_are_logged_without_secrets(
    api: Api, embedded_server: JupyterServer
) -> None:
    """Failed and successful logins, refresh-token reuse and a password change appear in the
    user's activity, newest first, and no password or token is in any entry."""
    admin, user = await register_admin(api, embedded_server), await api.register()
    name = user.user["username"]
    await api.http.post("/auth/login", json={"login": name, "password": "wrong password"})
    await api.http.post("/auth/login", json={"login": name, "password": user.password})
    body = {"refresh_token": user.refresh_token}
    await api.http.post("/auth/refresh", json=body)
    assert_error(await api.http.post("/auth/refresh", json=body), 401, "token_reused")
    change = {"current_password": user.password, "new_password": "changed password"}
    assert (await api.http.post("/auth/password", headers=user.headers, json=change)).is_success
    response = await api.http.get(
        "/admin/activity", headers=admin.headers, params={"user_id": user.user["id"]}
    )
    entries = response.json()["entries"]
    assert {e["message"] for e in entries} == {
        "password changed",
        "refresh token reused; family revoked",
        "login succeeded",
        "login failed",
        "user registered",
    }
    times = [datetime.fromisoformat(e["timestamp"]) for e in entries]
    assert times == sorted(times, reverse=True)
    warnings = {e["message"] for e in entries if e["level"] == "warning"}
    assert warnings == {"login failed", "refresh token reused; family revoked"}
    for secret in (user.password, "wrong password", "changed password", user.refresh_token):
        assert secret not in response.text
    limited = await api.http.get(
        "/admin/activity", headers=admin.headers, params={"user_id": user.user["id"], "limit": 2}
    )
    assert len(limited.json()["entries"]) == 2
