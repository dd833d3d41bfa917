"""The sandbox interface: where user code runs on a worker.

Three backends: ``DockerSandbox`` (hardened containers: no network, read-only root, tmpfs,
memory/pids/CPU limits, all capabilities dropped, no-new-privileges, non-root user),
``BwrapSandbox`` (bubblewrap: a child process in its own mount, pid, network and IPC
namespaces that sees only the system directories, as an unprivileged user) and
``ProcessSandbox`` (a child process with rlimits and a scrubbed environment, for hosts with
neither — a resource fence, not a security boundary). ``choice.py`` picks one.

A sandbox offers two things:

- ``start_kernel``: a long-lived ipykernel reached by the host over ZMQ **ipc** sockets in a
  directory shared with the sandbox; the returned :class:`KernelSandbox` gives the host-side
  connection info for ``jupyter_client``.
- ``run``: a one-shot program (``language`` + ``code`` + ``stdin``) in a fresh sandbox.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...store.records import JobStatus, Limits
from .languages import Language


@dataclass(frozen=True, slots=True)
class RunResult:
    """The outcome of a one-shot run."""

    status: JobStatus  # SUCCEEDED, FAILED, TIMED_OUT, MEMORY_EXCEEDED or OUTPUT_EXCEEDED
    exit_code: int | None
    stdout: str
    stderr: str
    duration_s: float


class KernelSandbox(ABC):
    """A kernel process running inside a sandbox, with its private host directory."""

    def __init__(self, kernel_dir: Path, info: dict[str, Any]) -> None:
        self.id = kernel_dir.name
        self._dir = kernel_dir
        self._info = info
        self._stopped = False

    @property
    def connection_info(self) -> dict[str, Any]:
        """Connection info for the host side (``transport: ipc``, ``ip``, ports, key...)."""
        return dict(self._info)

    @abstractmethod
    async def is_alive(self) -> bool: ...

    @abstractmethod
    async def was_oom_killed(self) -> bool:
        """Whether the kernel died because it exceeded its memory limit."""

    @abstractmethod
    async def interrupt(self) -> None:
        """Send SIGINT to the kernel process (KeyboardInterrupt in the running cell)."""

    @abstractmethod
    async def stop(self) -> None:
        """Kill the kernel and remove everything it left on the host (idempotent)."""


class Sandbox(ABC):
    name: str
    # Whether code inside is kept from the host's files, network and processes. Code from a
    # user the operator has not trusted never runs where this is False.
    confined: bool

    @abstractmethod
    async def start_kernel(self, limits: Limits) -> KernelSandbox:
        """Start an ipykernel under ``limits`` (``timeout_s`` is per execution, not here)."""

    @abstractmethod
    async def run(self, language: str, code: str, stdin: str, limits: Limits) -> RunResult:
        """Run a program once; ``languages`` lists what is accepted."""

    @property
    @abstractmethod
    def language_table(self) -> dict[str, Language]:
        """The languages runs here accept, by id."""

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.language_table)

    @abstractmethod
    async def versions(self) -> dict[str, str]:
        """Each language's runtime version, as this sandbox reports it (asked once)."""

    def start(self) -> None:  # noqa: B027 - optional: most backends have nothing to start
        """Start background work, such as a warm pool (nothing by default)."""

    @abstractmethod
    async def close(self) -> None:
        """Stop every kernel this sandbox started."""

    async def reap(self, is_alive: Callable[[str], Awaitable[bool]]) -> int:
        """Remove sandboxes left behind by workers that are gone (``is_alive(worker_id)``
        is False); how many. Backends whose sandboxes die with their worker have none."""
        return 0
