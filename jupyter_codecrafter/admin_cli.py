"""``codecrafter-admin``: manage accounts directly in the configured store.

The first admin is made here, never through the API::

    codecrafter-admin create-user --admin ada ada@example.org      # asks for the password
    echo "$PASSWORD" | codecrafter-admin create-user --admin --password-stdin ada ada@example.org
    codecrafter-admin set-role bob admin
    codecrafter-admin delete-user mallory

It reads the same settings as the server: ``CODECRAFTER_*`` variables, or
``c.CodeCrafter.<name>`` in the file given with ``--config``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import secrets
import sys
from collections.abc import Awaitable, Callable, Sequence

from pydantic import ValidationError
from traitlets.config.loader import PyFileConfigLoader

from .accounts.passwords import Passwords
from .accounts.service import AccountService
from .accounts.tokens import AccessTokens
from .activity import ActivityLog
from .api.schemas.auth import RegisterRequest
from .config import CodeCrafterSettings
from .errors import CodeCrafterError
from .store.base import Store, create_store
from .store.records import UserRole

BY = "codecrafter-admin"  # who made a change, in the activity log


class CodeCrafter(CodeCrafterSettings):
    """Named like the server extension, so ``c.CodeCrafter.<name>`` config applies."""


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="codecrafter-admin", description=__doc__.split("\n")[0])
    cli.add_argument("--config", help="a Python config file setting c.CodeCrafter.<name>")
    commands = cli.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-user", help="create an account")
    create.add_argument("username")
    create.add_argument("email")
    create.add_argument("--admin", action="store_true", help="give it the admin role")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from stdin"
    )
    role = commands.add_parser("set-role", help="give an account a role")
    role.add_argument("username")
    role.add_argument("role", choices=[str(r) for r in UserRole])
    delete = commands.add_parser("delete-user", help="delete an account")
    delete.add_argument("username")
    return cli


def settings_from(config_file: str | None) -> CodeCrafterSettings:
    if not config_file:
        return CodeCrafter()
    loader = PyFileConfigLoader(config_file)
    return CodeCrafter(config=loader.load_config())


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != password:
        raise SystemExit("The passwords differ.")
    return password


def accounts(settings: CodeCrafterSettings, store: Store) -> AccountService:
    return AccountService(
        store,
        Passwords(time_cost=settings.password_time_cost, memory_kib=settings.password_memory_kib),
        # The CLI never issues tokens: a throwaway secret, and no secret file written.
        AccessTokens(secrets.token_urlsafe(48)),
        ActivityLog(store),
    )


async def create_user(service: AccountService, args: argparse.Namespace) -> str:
    password = read_password(args.password_stdin)
    try:
        valid = RegisterRequest(username=args.username, email=args.email, password=password)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise SystemExit(f"Invalid account: {problems}") from exc
    role = UserRole.ADMIN if args.admin else UserRole.USER
    user = await service.create_user(valid.username, str(valid.email), password, role=role)
    await service.activity.record("user created", user_id=user.id, by=BY, role=str(role))
    return f"created {role} {user.username!r} ({user.id})"


async def set_role(service: AccountService, args: argparse.Namespace) -> str:
    user = await service.get_user_by_username(args.username)
    await service.set_role(user.id, UserRole(args.role), by=BY)
    return f"{user.username!r} is now {args.role}"


async def delete_user(service: AccountService, args: argparse.Namespace) -> str:
    user = await service.get_user_by_username(args.username)
    await service.delete_user(user.id, by=BY)
    return f"deleted {user.username!r} ({user.id})"


COMMANDS: dict[str, Callable[[AccountService, argparse.Namespace], Awaitable[str]]] = {
    "create-user": create_user,
    "set-role": set_role,
    "delete-user": delete_user,
}


async def run(args: argparse.Namespace) -> str:
    settings = settings_from(args.config)
    store = create_store(settings.store_url)
    await store.open()
    try:
        return await COMMANDS[args.command](accounts(settings, store), args)
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    try:
        print(asyncio.run(run(args)))
    except CodeCrafterError as exc:
        raise SystemExit(f"{args.command}: {exc.message}") from exc


if __name__ == "__main__":
    main()
