"""What the Docker sandboxes (kernels, one-shot runs, spare containers) share: the
hardening every container gets, names and labels, and the SDK calls made safe for asyncio
(in threads, their errors as SandboxError).

The SDK blocks, and a run's output is read by a thread for as long as the run lasts, so the
Docker sandboxes have a thread pool of their own. On asyncio's default one (cores + 4
threads, 6 on 2 cores, shared with the rest of the server) eight runs at once queued
behind each other's output readers: 40 snippets on 40 spare containers went 6.6 runs/s,
and 24.5 runs/s with this pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import os
import shlex
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import requests
from docker.types import Ulimit

from ...errors import SandboxError
from ...store.records import Limits
from ._connection import KERNEL_ARGS
from ._runs import CappedOutput, run_cpu_s
from .languages import BINARY, Language

T = TypeVar("T")

SANDBOX_UID = 1000
MOUNT = "/k"
SANDBOX_TMP = "/tmp"  # noqa: S108 - inside the container: its own sized tmpfs
LABEL = "codecrafter.sandbox"
LABEL_KERNEL = "codecrafter.kernel"
LABEL_RUN = "codecrafter.run"
LABEL_WORKER = "codecrafter.worker"
LABEL_DIR = "codecrafter.dir"
LABEL_SPARE = "codecrafter.spare"  # started ahead; used once its directory holds a "run"
CONNECTION_MOUNT = "/c.json"
# ipykernel rewrites its connection file once its sockets are bound; a copy in the tmpfs keeps
# that write out of the socket directory, which is sealed as soon as the sockets exist.
KERNEL_COMMAND = (
    "sh",
    "-c",
    f"cp {CONNECTION_MOUNT} /tmp/c.json && "
    f"exec python3 -m ipykernel_launcher {shlex.join(KERNEL_ARGS)} -f /tmp/c.json",
)
ENVIRONMENT = {
    "HOME": SANDBOX_TMP,
    "TMPDIR": SANDBOX_TMP,
    "LANG": "C.UTF-8",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
}
_DOCKER_ERRORS = (docker.errors.DockerException, requests.RequestException)
# Threads are made as needed; most wait on the daemon or on a run's output, not the CPU.
THREADS = 64
_THREADS = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="codecrafter-docker")


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``asyncio.to_thread`` on the Docker sandboxes' own pool."""
    run = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_THREADS, run)


async def call(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a docker SDK call in a thread; its errors become SandboxError."""
    try:
        return await in_thread(fn, *args, **kwargs)
    except docker.errors.ImageNotFound as exc:
        raise SandboxError(
            f"Sandbox image not found ({exc.explanation}); build it with "
            "scripts/build-sandbox-image.sh."
        ) from exc
    except _DOCKER_ERRORS as exc:
        raise SandboxError(f"Docker failed: {exc}") from exc


def hardening(limits: Limits, labels: dict[str, str], *, one_shot: bool = False) -> dict[str, Any]:
    """The container options every sandbox gets, kernel or run (``one_shot``: a CPU-time
    limit too; a kernel's CPU time adds up over its life, its executes time out instead)."""
    memory = f"{limits.memory_mb}m"
    return {
        "network_mode": "none",
        "read_only": True,
        "tmpfs": {SANDBOX_TMP: f"size={limits.tmpfs_mb}m,mode=1777,nosuid,nodev"},
        "shm_size": f"{limits.tmpfs_mb}m",  # /dev/shm is a tmpfs too (64 MiB by default)
        "mem_limit": memory,
        "memswap_limit": memory,  # the same value: no swap beyond the memory limit
        "pids_limit": limits.pids,
        "nano_cpus": int(limits.cpus * 1e9),
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "user": f"{SANDBOX_UID}:{SANDBOX_UID}",
        "ulimits": ulimits(limits, one_shot=one_shot),
        "environment": dict(ENVIRONMENT),
        "working_dir": SANDBOX_TMP,
        "hostname": "sandbox",
        "labels": {LABEL: "1", **labels},
        "init": True,  # docker-init as PID 1: forwards SIGINT to the kernel, reaps zombies
        "auto_remove": False,  # kept until removed, so OOMKilled can be read
    }


def ulimits(limits: Limits, *, one_shot: bool) -> list[Ulimit]:
    file_size = limits.file_size_mb * 1024 * 1024
    found = [
        Ulimit(name="nofile", soft=1024, hard=1024),
        Ulimit(name="fsize", soft=file_size, hard=file_size),
    ]
    if one_shot:
        # SIGXCPU at the soft limit. No hard one: its SIGKILL would read as a failure, and
        # a program that ignores SIGXCPU is stopped by the wall clock (timed_out) instead.
        found.append(Ulimit(name="cpu", soft=run_cpu_s(limits), hard=-1))
    return found


def signalled(status_code: int) -> int:
    """A container's exit code as the program's: 128 + N is "killed by signal N" (-N)."""
    return -(status_code - 128) if 128 < status_code < 160 else status_code


def in_mount(command: tuple[str, ...], filename: str) -> list[str]:
    """``command`` with the program's files named by their path in the mount."""
    local = {filename, f"./{BINARY}"}
    return [f"{MOUNT}/{part.removeprefix('./')}" if part in local else part for part in command]


def remove(container: Any) -> None:
    with contextlib.suppress(docker.errors.NotFound):
        container.remove(force=True)


def client_from_env() -> Any:
    try:
        # A connection per thread, kept: the SDK's default of 10 would open and close one for
        # most calls once more than ten are in flight.
        return docker.from_env(max_pool_size=THREADS)
    except _DOCKER_ERRORS as exc:
        raise SandboxError(f"Docker is not reachable: {exc}") from exc


def write_program(run_dir: Path, lang: Language, code: str, stdin: str) -> None:
    # Readable by the sandbox user, and mounted read-only.
    os.chmod(run_dir, 0o755)  # noqa: S103 - read by the sandbox user, never written
    for name, text in ((lang.filename, code), ("stdin", stdin)):
        path = run_dir / name
        path.write_text(text, encoding="utf-8")
        os.chmod(path, 0o644)


def attach(api: Any, container_id: str) -> Any:
    """Attach to a created container's stdout and stderr, before it starts."""
    stream = api.attach(container_id, stdout=True, stderr=True, stream=True, demux=True)
    # The SDK leaves the client's read timeout on attach sockets, so a program silent for
    # longer would look finished; its log streams disable it the same way.
    api._disable_socket_timeout(api._get_raw_response_socket(stream._response))
    return stream


def read_stream(stream: Iterable[tuple[bytes | None, bytes | None]], output: CappedOutput) -> None:
    for stdout, stderr in stream:
        if stdout and not output.add("stdout", stdout):
            return
        if stderr and not output.add("stderr", stderr):
            return


def kill(container: Any) -> None:
    with contextlib.suppress(docker.errors.APIError):  # already exited: nothing to stop
        container.kill()
