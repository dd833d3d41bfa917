"""``codecrafter-admin``: accounts made and changed directly in the configured store."""

from __future__ import annotations

import asyncio
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_codecrafter.admin_cli import main
from jupyter_codecrafter.store.records import UserRole
from jupyter_codecrafter.store.sqlite import SQLiteStore
from tests.server import FAST_PASSWORD_HASHING


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI is configured by CODECRAFTER_* variables, like the server."""
    for name in [name for name in os.environ if name.startswith("CODECRAFTER_")]:
        monkeypatch.delenv(name)
    for name, value in FAST_PASSWORD_HASHING.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("CODECRAFTER_DATA_DIR", str(tmp_path))
    return tmp_path


def admin(monkeypatch: pytest.MonkeyPatch, *args: str, password: str = "") -> None:
    """Run the CLI in process with ``password`` on stdin; SystemExit on failure."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    main(list(args))


def stored_role(db: Path, username: str) -> UserRole | None:
    async def read() -> UserRole | None:
        store = SQLiteStore(f"sqlite:///{db}")
        await store.open()
        try:
            user = await store.users.get_by_username(username)
            return user.role if user else None
        finally:
            await store.close()

    return asyncio.run(read())


def test_create_admin_from_stdin(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """create-user --admin --password-stdin makes an admin in the configured database."""
    admin(
        monkeypatch,
        "create-user",
        "--admin",
        "--password-stdin",
        "Ada",
        "ada@x.org",
        password="correct horse",
    )
    out = capsys.readouterr()
    assert "created admin 'ada'" in out.out
    assert "correct horse" not in out.out + out.err
    assert stored_role(data_dir / "codecrafter.db", "ada") == UserRole.ADMIN


def test_set_role_and_delete(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """set-role changes a role; delete-user removes the account; unknown names fail clearly."""
    admin(
        monkeypatch, "create-user", "--password-stdin", "bob", "bob@x.org", password="long enough"
    )
    db = data_dir / "codecrafter.db"
    assert stored_role(db, "bob") == UserRole.USER
    admin(monkeypatch, "set-role", "bob", "admin")
    assert stored_role(db, "bob") == UserRole.ADMIN
    admin(monkeypatch, "delete-user", "BOB")
    assert stored_role(db, "bob") is None
    with pytest.raises(SystemExit, match="No user named 'bob'"):
        admin(monkeypatch, "delete-user", "bob")


@pytest.mark.parametrize(
    ("username", "email", "password", "complaint"),
    [
        ("a", "a@x.org", "long enough", "username"),
        ("ada", "not-an-email", "long enough", "email"),
        ("ada", "ada@x.org", "short", "password"),
    ],
)
@pytest.mark.usefixtures("data_dir")
def test_invalid_accounts_are_refused(
    monkeypatch: pytest.MonkeyPatch, username: str, email: str, password: str, complaint: str
) -> None:
    """The CLI applies the registration rules and names the offending field, not the input."""
    with pytest.raises(SystemExit) as info:
        admin(monkeypatch, "create-user", "--password-stdin", username, email, password=password)
    assert "Invalid account" in str(info.value) and complaint in str(info.value)
    assert password not in str(info.value)


@pytest.mark.usefixtures("data_dir")
def test_duplicate_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """Creating a taken username fails with the store's message naming the field."""
    admin(
        monkeypatch, "create-user", "--password-stdin", "ada", "ada@x.org", password="long enough"
    )
    with pytest.raises(SystemExit, match="username is already taken"):
        admin(
            monkeypatch,
            "create-user",
            "--password-stdin",
            "ADA",
            "other@x.org",
            password="long enough",
        )


def test_config_file_sets_the_store(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config reads c.CodeCrafter.store_url like the server's config file does."""
    db = data_dir / "elsewhere.db"
    config = data_dir / "config.py"
    config.write_text(f"c.CodeCrafter.store_url = 'sqlite:///{db}'\n")
    admin(
        monkeypatch,
        "--config",
        str(config),
        "create-user",
        "--admin",
        "--password-stdin",
        "ada",
        "ada@x.org",
        password="long enough",
    )
    assert stored_role(db, "ada") == UserRole.ADMIN
    assert not (data_dir / "codecrafter.db").exists()


def test_console_script_is_installed(data_dir: Path) -> None:
    """The codecrafter-admin command exists and creates an account from a real process."""
    exe = shutil.which("codecrafter-admin", path=str(Path(sys.executable).parent))
    assert exe is not None, "reinstall the package: pip install -e ."
    result = subprocess.run(
        [exe, "create-user", "--password-stdin", "zed", "zed@x.org"],
        input="long enough\n",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ},
    )
    assert result.returncode == 0, result.stderr
    assert stored_role(data_dir / "codecrafter.db", "zed") == UserRole.USER
