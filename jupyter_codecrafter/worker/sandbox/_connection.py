"""Kernel connection files, socket directories, launch options and readiness, shared by the
backends.

A kernel listens on ZMQ ipc sockets ``<socket dir>/k-<port>``. Unix socket paths are limited
to 107 bytes, so the directories are short: ``<runtime_dir>/<8 hex>/[s/]``.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import stat
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from queue import Empty
from typing import Any, cast

from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.connect import KernelConnectionInfo

from ...errors import SandboxError

CONNECTION_FILE = "c.json"
SOCKET_NAME = "k"
CHANNEL_PORTS = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}
MAX_SOCKET_PATH_BYTES = 107
# ipykernel's options (before "-f <connection file>"). IPython's history database would live in
# the sandbox's tmpfs and die with it, yet each cell run writes to it from a thread of its own.
# In memory, IPython starts no such thread and writes only when history is asked for: a quick
# run costs the kernel about a quarter less CPU (3.5 ms instead of 4.8 here).
KERNEL_ARGS = ("--HistoryManager.hist_file=:memory:",)
_POLL_S = 0.05
# Whether a starting kernel is still alive is asked less often than its sockets are looked
# for: for Docker each answer is an inspect through the daemon, and 30 kernels starting at
# once asked 600 times a second: a third of the server's profile samples in a cold burst.
_ALIVE_POLL_S = 0.5

IsAlive = Callable[[], Awaitable[bool]]


def default_runtime_dir() -> Path:
    # A short fixed base: a deep temporary path would overflow the unix socket limit.
    return Path(f"/tmp/cc-{os.getuid()}")  # noqa: S108 - private (0700, owner checked) and short


def ensure_runtime_dir(path: str | Path | None) -> Path:
    """Create (0700) or check the runtime dir; refuse one we don't own or that is too deep."""
    root = Path(path) if path else default_runtime_dir()
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise SandboxError(f"Runtime dir {root} is not a directory owned by this user.")
    longest = root / ("0" * 8) / "s" / f"{SOCKET_NAME}-{max(CHANNEL_PORTS.values())}"
    if len(os.fsencode(longest)) > MAX_SOCKET_PATH_BYTES:
        raise SandboxError(f"Runtime dir {root} is too long for unix sockets; use a shorter one.")
    return root


def make_kernel_dir(runtime_dir: Path) -> Path:
    path = runtime_dir / secrets.token_hex(4)
    path.mkdir(mode=0o700)
    return path


def write_connection_file(
    path: Path, *, ip_inside: str, socket_dir: Path, uid: int | None = None
) -> dict[str, Any]:
    """Write the kernel's connection file and return the host's connection info.

    The kernel binds ``<ip_inside>-<port>``, which the host reaches as
    ``<socket_dir>/k-<port>``. ``uid`` (the sandbox user) gets to read the file.
    """
    info: dict[str, Any] = {
        "transport": "ipc",
        "ip": ip_inside,
        **CHANNEL_PORTS,
        "key": secrets.token_hex(32),
        "signature_scheme": "hmac-sha256",
        "kernel_name": "",
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as file:
        json.dump(info, file)
    if uid is not None:
        os.chown(path, uid, uid)
    return {**info, "ip": str(socket_dir / SOCKET_NAME)}


def socket_paths(info: dict[str, Any]) -> list[Path]:
    return [Path(f"{info['ip']}-{info[name]}") for name in CHANNEL_PORTS]


async def wait_for_sockets(info: dict[str, Any], *, timeout_s: float, is_alive: IsAlive) -> None:
    """Wait until every channel's socket exists (as a socket, never a link to follow)."""
    deadline = time.monotonic() + timeout_s
    asked = time.monotonic()
    while not all(_is_socket(path) for path in socket_paths(info)):
        if time.monotonic() - asked >= _ALIVE_POLL_S:
            if not await is_alive():
                raise SandboxError("The kernel exited while starting.")
            asked = time.monotonic()
        if time.monotonic() > deadline:
            raise SandboxError(f"The kernel did not open its sockets within {timeout_s:g} s.")
        await asyncio.sleep(_POLL_S)


def _is_socket(path: Path) -> bool:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return False
    if not stat.S_ISSOCK(mode):
        raise SandboxError(f"{path.name} in the kernel directory is not a socket.")
    return True


def make_socket_dir(kernel_dir: Path, uid: int) -> Path:
    """The directory the sandbox user binds its sockets in (and nothing else)."""
    path = kernel_dir / "s"
    path.mkdir(mode=0o700)
    os.chown(path, uid, uid)
    return path


def seal_socket_dir(socket_dir: Path) -> None:
    """Take the socket directory back from the sandbox user once the sockets exist.

    The sandbox can then no longer replace a socket with a symlink, so the host never
    follows a path planted by the sandbox when it (re)connects. The kernel writes nothing
    else there (its connection file is elsewhere), so this cannot race with it.
    """
    os.chown(socket_dir, os.getuid(), os.getgid())
    os.chmod(socket_dir, 0o755)  # noqa: S103 - the sandbox user must still reach its sockets


def make_client(info: dict[str, Any], *, iopub: bool = True) -> AsyncKernelClient:
    client = AsyncKernelClient()
    client.load_connection_info(cast(KernelConnectionInfo, info))
    client.start_channels(hb=False, iopub=iopub)
    return client


async def wait_until_ready(
    client: AsyncKernelClient, *, timeout_s: float, is_alive: IsAlive, iopub: bool = True
) -> None:
    """Wait for a kernel_info reply and, with ``iopub``, for IOPub to deliver (its
    subscription is set up)."""
    deadline = time.monotonic() + timeout_s
    while not await _answers_kernel_info(client, iopub=iopub):
        if not await is_alive():
            raise SandboxError("The kernel exited while starting.")
        if time.monotonic() > deadline:
            raise SandboxError(f"The kernel did not answer within {timeout_s:g} s.")
    if iopub:
        await _flush_iopub(client)


async def _answers_kernel_info(client: AsyncKernelClient, *, iopub: bool) -> bool:
    msg_id = client.kernel_info()
    try:
        while True:
            reply = await client.get_shell_msg(timeout=1.0)
            if reply["parent_header"].get("msg_id") == msg_id:
                break
        # The reply came on shell; IOPub is subscribed once it shows this request's status.
        while iopub:
            msg = await client.get_iopub_msg(timeout=0.5)
            if msg["parent_header"].get("msg_id") == msg_id:
                return True
    except Empty:
        return False
    return True


async def _flush_iopub(client: AsyncKernelClient) -> None:
    try:
        while True:
            await client.get_iopub_msg(timeout=0.05)
    except Empty:
        return


async def check_ready(info: dict[str, Any], *, timeout_s: float, is_alive: IsAlive) -> None:
    """Connect a short-lived client and wait until the kernel answers."""
    client = make_client(info)
    try:
        await wait_until_ready(client, timeout_s=timeout_s, is_alive=is_alive)
    finally:
        client.stop_channels()
