"""Bubblewrap sandboxes: kernels and runs as processes in namespaces of their own.

For hosts without Docker (a school server, a laptop) where ``bwrap`` (Debian's
``bubblewrap``) is installed. What code inside sees and can do:

- files: an empty root holding only the system directories (``/usr`` without
  ``/usr/local/etc``, and the ``/bin``, ``/lib``... links), what the Python installation the
  kernels run on runs from (its ``bin`` and ``lib``, not its ``etc`` or ``share``) and a few
  files of ``/etc`` the runtimes read, all read-only; a private ``/tmp`` (also HOME) and
  ``/dev/shm`` of ``tmpfs_mb`` each; a minimal ``/dev`` and a ``/proc`` of its own. Not the
  Jupyter data, config or runtime directories, the store, the server's home, nor other
  sandboxes.
- no network (a network namespace of its own), its own pid, IPC, UTS and cgroup namespaces,
  and only the environment given here.
- an unprivileged user: when the worker runs as root, each sandbox gets a uid of its own with
  no capabilities and no-new-privileges (so RLIMIT_NPROC bounds exactly its processes); as any
  other user, it runs as that user inside a user namespace.
- the rlimits of the process backend; everything it started dies with it
  (``--die-with-parent`` and its pid namespace), so nothing outlives a run.
- memory: when the worker runs as root, a memory cgroup per sandbox (``cgroups.py``) counts
  all of it, shared memory and tmpfs included; otherwise RLIMIT_DATA per process only.

Not enforced here (Docker does it): a CPU share, a seccomp filter.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from ...errors import SandboxError
from ...store.records import JobStatus, Limits
from ._connection import (
    CONNECTION_FILE,
    SOCKET_NAME,
    make_socket_dir,
    seal_socket_dir,
    write_connection_file,
)
from ._runs import compile_failure, compile_limits, run_cpu_s
from .base import RunResult
from .bwrap_args import (
    BUILD_DIR,
    ENVIRONMENT,
    MOUNT,
    TMP,
    drop_privileges,
    file_args,
    memory_file,
    sandbox_args,
    sandbox_uid,
    user_files,
)
from .cgroups import MemoryCgroup, memory_root
from .languages import BINARY, Language, pick_language
from .process import (
    KERNEL_COMMAND,
    KERNEL_NOFILE,
    RUN_NOFILE,
    Launch,
    ProcessKernel,
    ProcessSandbox,
    rlimits,
    run_process,
)

PROBE_TIMEOUT_S = 30.0


class BwrapKernel(ProcessKernel):
    """An ipykernel inside bubblewrap."""

    def _sockets_bound(self) -> None:
        # From now on the sandbox cannot swap a socket for a link the host would follow.
        seal_socket_dir(self._dir / "s")

    async def was_oom_killed(self) -> bool:
        cgroup = self._cgroups.get(self.id)
        return await super().was_oom_killed() or (cgroup is not None and cgroup.oom_killed())

    async def stop(self) -> None:
        await super().stop()
        cgroup = self._cgroups.pop(self.id, None)
        if cgroup is not None:
            await asyncio.to_thread(cgroup.remove)

    @property
    def _cgroups(self) -> dict[str, MemoryCgroup]:
        """The memory cgroups of the sandbox's kernels, by kernel id."""
        assert isinstance(self._sandbox, BwrapSandbox)
        return self._sandbox.kernel_cgroups

    async def interrupt(self) -> None:
        # SIGINT to bwrap would end the sandbox: it goes to the kernel, pid 2 inside.
        pid = _sandboxed_child(self.pid)
        if pid is not None and await self.is_alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)


class BwrapSandbox(ProcessSandbox):
    """Kernels and runs confined by bubblewrap (see the module docstring)."""

    name = "bwrap"
    confined = True
    kernel_class = BwrapKernel

    def __init__(self, *, runtime_dir: str | None = None, start_timeout_s: float = 60.0) -> None:
        super().__init__(runtime_dir=runtime_dir, start_timeout_s=start_timeout_s)
        self._bwrap = shutil.which("bwrap") or "bwrap"
        self._memory_root = memory_root()  # None: rlimits only (not root, no controller)
        self.kernel_cgroups: dict[str, MemoryCgroup] = {}  # by kernel id

    def _prepare_kernel(self, kernel_dir: Path, limits: Limits) -> tuple[dict[str, Any], Launch]:
        uid = sandbox_uid()
        info = write_connection_file(
            kernel_dir / CONNECTION_FILE,
            ip_inside=f"{MOUNT}/{SOCKET_NAME}",
            socket_dir=make_socket_dir(kernel_dir, uid),
        )
        files = {"/c.json": os.open(kernel_dir / CONNECTION_FILE, os.O_RDONLY), **user_files(uid)}
        # ipykernel may rewrite its connection file: it gets a copy it owns, in its tmpfs.
        start = f'cp /c.json {TMP}/c.json && exec "$@" {TMP}/c.json'
        argv = [
            *self._sandbox_args(limits, uid),
            *("--bind", str(kernel_dir / "s"), MOUNT),
            *file_args(files),
            "--",
            *drop_privileges(uid),
            *("/bin/sh", "-c", start, "sh", *KERNEL_COMMAND),
        ]
        preexec = rlimits(limits, cpu_s=None, nofile=KERNEL_NOFILE, nproc=_nproc(limits))
        cgroup = self._new_cgroup(limits)
        if cgroup is not None:
            self.kernel_cgroups[kernel_dir.name] = cgroup
        launch = Launch(
            argv, Path("/"), dict(ENVIRONMENT), joined(preexec, cgroup), tuple(files.values())
        )
        return info, launch

    async def run(self, language: str, code: str, stdin: str, limits: Limits) -> RunResult:
        lang = pick_language(self._languages, language)
        program = {lang.filename: code.encode()}
        if lang.compile is not None:
            compiled = await self._compile(lang, code, limits)
            if isinstance(compiled, RunResult):
                return compiled
            program = {BINARY: compiled}
        return await self._run_files(lang.run, program, stdin, limits)

    async def _run_files(
        self, command: tuple[str, ...], program: dict[str, bytes], stdin: str, limits: Limits
    ) -> RunResult:
        """Run ``command`` in /tmp, where ``program``'s files are (executable)."""
        uid = sandbox_uid()
        files = {f"{TMP}/{name}": memory_file(data) for name, data in program.items()}
        etc = user_files(uid)
        argv = [
            *self._sandbox_args(limits, uid),
            *file_args(files, mode="0555"),
            *file_args(etc),
            "--",
            *drop_privileges(uid),
            *command,
        ]
        return await self._one_shot(argv, stdin, limits, (*files.values(), *etc.values()))

    async def _one_shot(
        self, argv: list[str], stdin: str, limits: Limits, fds: tuple[int, ...]
    ) -> RunResult:
        """Run one sandbox to its end, in a memory cgroup of its own when there are any."""
        preexec = rlimits(limits, cpu_s=run_cpu_s(limits), nofile=RUN_NOFILE, nproc=_nproc(limits))
        cgroup = self._new_cgroup(limits)
        launch = Launch(argv, Path("/"), dict(ENVIRONMENT), joined(preexec, cgroup), fds)
        try:
            result = await run_process(launch, stdin, limits, exit_code=self.exit_code)
        finally:
            oom = cgroup is not None and cgroup.oom_killed()
            if cgroup is not None:
                await asyncio.to_thread(cgroup.remove)
        return _with_oom(result) if oom else result

    def _new_cgroup(self, limits: Limits) -> MemoryCgroup | None:
        if self._memory_root is None:
            return None
        try:
            return MemoryCgroup(self._memory_root, limits.memory_mb)  # tmpfs counts, as in Docker
        except OSError as exc:
            raise SandboxError(f"Could not make a memory cgroup: {exc}") from exc

    async def _compile(self, lang: Language, code: str, limits: Limits) -> bytes | RunResult:
        """The compiled program, or the compile_error result. The compiler writes into a
        directory of the host bound at /tmp/build; the binary is read back without following
        links, and the run gets it as a file of its own tmpfs."""
        assert lang.compile is not None
        workdir = Path(tempfile.mkdtemp(prefix="build-", dir=self._runtime_dir))
        try:
            uid = sandbox_uid()
            _prepare_build_dir(workdir, lang.filename, code, uid)
            result = await self._build(workdir, lang.compile, uid, compile_limits(limits))
            if result.status is not JobStatus.SUCCEEDED:
                return compile_failure(result, limits)
            return read_regular_file(workdir / BINARY, limits.file_size_mb * 1024 * 1024)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, ignore_errors=True)

    async def _build(
        self, workdir: Path, command: tuple[str, ...], uid: int, limits: Limits
    ) -> RunResult:
        etc = user_files(uid)
        # Into the build dir as the sandbox's uid: it is that uid's alone (0700).
        enter = f'cd {BUILD_DIR} && exec "$@"'
        argv = [
            *self._sandbox_args(limits, uid),
            *("--bind", str(workdir), BUILD_DIR),
            *file_args(etc),
            "--",
            *drop_privileges(uid),
            *("/bin/sh", "-c", enter, "sh", *command),
        ]
        return await self._one_shot(argv, "", limits, tuple(etc.values()))

    def exit_code(self, returncode: int) -> int:
        # bwrap exits with 128 + N when the program was killed by signal N.
        return -(returncode - 128) if returncode > 128 else returncode

    def _sandbox_args(self, limits: Limits, uid: int) -> list[str]:
        return [self._bwrap, *sandbox_args(limits, uid)]


def _prepare_build_dir(workdir: Path, filename: str, code: str, uid: int) -> None:
    (workdir / filename).write_text(code, encoding="utf-8")
    if os.geteuid() == 0:  # the sandbox's own uid writes the binary here
        os.chown(workdir, uid, uid)


def read_regular_file(path: Path, limit_bytes: int) -> bytes:
    """A file a sandbox wrote, read without following a link it may have planted there."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        raise SandboxError(f"The compiler left no program ({exc.strerror}).") from exc
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SandboxError("The compiler's output is not a regular file.")
        return file.read(limit_bytes)


def joined(preexec: Callable[[], None], cgroup: MemoryCgroup | None) -> Callable[[], None]:
    """The limits, then the cgroup, in the child before it execs."""
    if cgroup is None:
        return preexec

    def apply() -> None:
        preexec()
        cgroup.join()

    return apply


def _with_oom(result: RunResult) -> RunResult:
    """A run the cgroup killed for memory ended memory_exceeded, whatever it exited with,
    unless our own time or output limit stopped it first."""
    if result.status in (JobStatus.TIMED_OUT, JobStatus.OUTPUT_EXCEEDED):
        return result
    return dataclasses.replace(result, status=JobStatus.MEMORY_EXCEEDED)


def _nproc(limits: Limits) -> int | None:
    # A fresh uid runs nothing else; as another user the process backend's count applies.
    return limits.pids if os.geteuid() == 0 else None


def _sandboxed_child(bwrap_pid: int) -> int | None:
    """The host pid of the sandbox's program: pid 2 of its namespace (bwrap's init is 1)."""
    for init in _children(bwrap_pid):
        for child in _children(init):
            if _namespace_pid(child) == 2:
                return child
    return None


def _children(pid: int) -> Iterator[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                stat = Path(entry.path, "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    yield int(entry.name)


def _namespace_pid(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    return None


def unavailable_reason(limits: Limits) -> str | None:
    """Why bubblewrap cannot confine runs on this host, or None when it can (it starts a real
    sandbox that imports ipykernel)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap is not installed (Debian/Ubuntu: apt-get install bubblewrap)"
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        return "setpriv (util-linux) is missing"
    uid = sandbox_uid()
    argv = [bwrap, *sandbox_args(limits, uid), "--", *drop_privileges(uid)]
    argv += [sys.executable, "-c", "import ipykernel"]
    try:
        done = subprocess.run(  # noqa: S603 - fixed programs, our arguments
            argv, capture_output=True, timeout=PROBE_TIMEOUT_S, env=dict(ENVIRONMENT), check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start a sandbox: {exc}"
    if done.returncode != 0:
        error = done.stderr.decode(errors="replace").strip().splitlines()
        return f"bubblewrap could not start a sandbox: {error[-1] if error else done.returncode}"
    return None
