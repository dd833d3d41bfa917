"""Process sandboxes: kernels and runs as child processes with resource limits.

For hosts without Docker or bubblewrap (a laptop, Binder). This is a resource fence, NOT a
security boundary (``confined`` is False): the code runs as the worker's own user, sees the
same filesystem and network, and can read whatever that user can, the server's secrets
included. Runs here are only for users the operator trusts (``sessions/permissions.py``);
:mod:`.bwrap` builds a confined sandbox on these same processes.

What is enforced, per child (its own session and process group, scrubbed environment with
only PATH, HOME, TMPDIR and LANG, cwd a private temporary directory removed at the end):

- memory: ``RLIMIT_DATA`` = ``memory_mb`` (heap and private writable mappings; an
  allocation beyond it fails, which Python reports as ``MemoryError``). ``RLIMIT_AS`` is not
  used: an idle ipykernel reserves over 600 MiB of address space it never touches.
- file size: ``RLIMIT_FSIZE`` = ``file_size_mb``; open files: ``RLIMIT_NOFILE``.
- CPU: ``RLIMIT_CPU`` on one-shot runs (a bit above the wall-clock timeout); not on kernels,
  whose CPU time adds up over their life (the per-execution timeout interrupts them instead).
- processes: ``RLIMIT_NPROC`` counts every process of the user, so it is set to what the user
  already runs plus ``pids``; the kernel ignores it for root, so running as root there is no
  process limit. Every process left in the run's process group is killed when it ends; a
  process that starts a new session escapes that.
- wall-clock timeout and output cap as in the Docker backend. Not enforced: network, tmpfs
  size (files go to the real disk, bounded per file only), CPU share.
- a child dies with its worker: it gets SIGKILL when the thread that started it (the
  worker's event loop) ends, however the worker ended (``PR_SET_PDEATHSIG``). The processes
  the child starts itself do not: a killed worker's runs can leave them running.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ...errors import SandboxError
from ...store.records import JobStatus, Limits
from ._connection import (
    CONNECTION_FILE,
    KERNEL_ARGS,
    SOCKET_NAME,
    check_ready,
    ensure_runtime_dir,
    make_kernel_dir,
    wait_for_sockets,
    write_connection_file,
)
from ._runs import CappedOutput, compile_failure, compile_limits, run_cpu_s, run_status
from .base import KernelSandbox, RunResult, Sandbox
from .languages import Language, first_line, on_this_host, pick_language

_MIB = 1024 * 1024
_READ_CHUNK_BYTES = 64 * 1024
KERNEL_NOFILE = 1024
RUN_NOFILE = 256
_DRAIN_S = 2.0
_PATH = "/usr/local/bin:/usr/bin:/bin"
# + the connection file
KERNEL_COMMAND = (sys.executable, "-m", "ipykernel_launcher", *KERNEL_ARGS, "-f")
PR_SET_PDEATHSIG = 1  # linux/prctl.h
# Loaded here, in the worker: a child between fork and exec should not load libraries.
_LIBC = ctypes.CDLL(None, use_errno=True)


def environment(home: Path) -> dict[str, str]:
    """The whole environment of a child: nothing of the worker's leaks in."""
    return {"PATH": _PATH, "HOME": str(home), "TMPDIR": str(home), "LANG": "C.UTF-8"}


def _user_tasks() -> int:
    """Processes and threads of this user (what RLIMIT_NPROC counts)."""
    uid, count = os.getuid(), 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
    return count


def rlimits(
    limits: Limits, *, cpu_s: int | None, nofile: int, nproc: int | None = None
) -> Callable[[], None]:
    """A preexec function applying ``limits`` in the child before it execs. ``nproc``: the
    process limit of a uid that runs nothing else (default: this user's count + ``pids``)."""
    values = {
        resource.RLIMIT_DATA: limits.memory_mb * _MIB,
        resource.RLIMIT_FSIZE: limits.file_size_mb * _MIB,
        resource.RLIMIT_NOFILE: nofile,
    }
    if cpu_s is not None:
        values[resource.RLIMIT_CPU] = cpu_s  # SIGXCPU at it, never a SIGKILL (see apply)
    if nproc is not None:
        values[resource.RLIMIT_NPROC] = nproc
    elif os.geteuid() != 0:  # root is exempt from RLIMIT_NPROC anyway
        values[resource.RLIMIT_NPROC] = _user_tasks() + limits.pids
    worker = os.getpid()

    def apply() -> None:
        _die_with(worker)
        for which, value in values.items():
            # A CPU hard limit would SIGKILL a program that ignores SIGXCPU, which reads as
            # the OOM killer's; without one, the wall clock stops it: timed_out.
            hard = resource.RLIM_INFINITY if which == resource.RLIMIT_CPU else value
            resource.setrlimit(which, (value, hard))

    return apply


def _die_with(worker: int) -> None:
    """In a child before it execs: be killed when its worker ends, even by SIGKILL."""
    if _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        os._exit(126)  # never a child that could outlive its worker unnoticed
    if os.getppid() != worker:
        os._exit(126)  # the worker ended between the fork and the prctl


@dataclass(frozen=True, slots=True)
class Launch:
    """How a child starts: its command line, working directory, environment, the limits to
    apply before it execs, and the file descriptors it inherits."""

    argv: list[str]
    cwd: Path
    env: dict[str, str]
    preexec: Callable[[], None]
    pass_fds: tuple[int, ...] = ()  # owned by the launch: closed here once the child started

    def close_fds(self) -> None:
        for fd in self.pass_fds:
            with contextlib.suppress(OSError):
                os.close(fd)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


class ProcessKernel(KernelSandbox):
    """An ipykernel in a child process."""

    def __init__(
        self,
        sandbox: ProcessSandbox,
        process: subprocess.Popen[bytes],
        kernel_dir: Path,
        info: dict[str, Any],
    ) -> None:
        super().__init__(kernel_dir, info)
        self._sandbox = sandbox
        self._process = process

    @property
    def pid(self) -> int:
        return self._process.pid

    async def is_alive(self) -> bool:
        return not self._stopped and self._process.poll() is None

    async def was_oom_killed(self) -> bool:
        # Without a memory cgroup the only trace is the kernel OOM killer's SIGKILL, which
        # this class never sends while the kernel is meant to be running.
        returncode = self._process.poll()
        exit_code = self._sandbox.exit_code(returncode) if returncode is not None else None
        return not self._stopped and exit_code == -signal.SIGKILL

    async def interrupt(self) -> None:
        if await self.is_alive():
            os.kill(self._process.pid, signal.SIGINT)

    async def wait_ready(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        await wait_for_sockets(self._info, timeout_s=timeout_s, is_alive=self.is_alive)
        self._sockets_bound()
        remaining_s = max(deadline - time.monotonic(), 1.0)
        await check_ready(self._info, timeout_s=remaining_s, is_alive=self.is_alive)

    def _sockets_bound(self) -> None:
        """Called once the kernel's sockets exist, before the host connects."""

    def log_tail(self, limit_bytes: int = 4000) -> str:
        with contextlib.suppress(OSError):
            data = (self._dir / "log").read_bytes()
            return data[-limit_bytes:].decode("utf-8", errors="replace")
        return ""

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._sandbox._kernels.discard(self)
        _kill_group(self._process.pid)
        await asyncio.to_thread(self._process.wait)
        await asyncio.to_thread(shutil.rmtree, self._dir, ignore_errors=True)


class ProcessSandbox(Sandbox):
    """Kernels and runs as rlimited child processes (see the module docstring)."""

    name = "process"
    confined = False
    kernel_class: type[ProcessKernel] = ProcessKernel

    def __init__(self, *, runtime_dir: str | None = None, start_timeout_s: float = 60.0) -> None:
        self.start_timeout_s = start_timeout_s
        self._runtime_dir = ensure_runtime_dir(runtime_dir)
        self._languages = on_this_host()
        self._versions: dict[str, str] | None = None
        self._kernels: set[ProcessKernel] = set()

    @property
    def language_table(self) -> dict[str, Language]:
        return dict(self._languages)

    async def versions(self) -> dict[str, str]:
        if self._versions is None:
            self._versions = {
                lang.id: await host_version(lang.version) for lang in self._languages.values()
            }
        return dict(self._versions)

    async def start_kernel(self, limits: Limits) -> ProcessKernel:
        kernel_dir = make_kernel_dir(self._runtime_dir)
        try:
            info, launch = self._prepare_kernel(kernel_dir, limits)
            process = self._spawn_kernel(kernel_dir, launch)
        except BaseException:
            shutil.rmtree(kernel_dir, ignore_errors=True)
            raise
        kernel = self.kernel_class(self, process, kernel_dir, info)
        self._kernels.add(kernel)
        try:
            await kernel.wait_ready(self.start_timeout_s)
        except BaseException as exc:
            log = kernel.log_tail()
            await kernel.stop()
            if isinstance(exc, SandboxError):
                raise SandboxError(exc.message, details={"kernel_log": log}) from exc
            raise
        return kernel

    def _prepare_kernel(self, kernel_dir: Path, limits: Limits) -> tuple[dict[str, Any], Launch]:
        """The host's connection info and how to start the kernel."""
        info = write_connection_file(
            kernel_dir / CONNECTION_FILE,
            ip_inside=str(kernel_dir / SOCKET_NAME),
            socket_dir=kernel_dir,
        )
        home = kernel_dir / "h"
        home.mkdir(mode=0o700)
        command = [*KERNEL_COMMAND, str(kernel_dir / CONNECTION_FILE)]
        preexec = rlimits(limits, cpu_s=None, nofile=KERNEL_NOFILE)
        return info, Launch(command, home, environment(home), preexec)

    def _spawn_kernel(self, kernel_dir: Path, launch: Launch) -> subprocess.Popen[bytes]:
        with open(kernel_dir / "log", "wb") as log:
            try:
                return subprocess.Popen(  # noqa: S603 - fixed programs, our arguments
                    launch.argv,
                    cwd=launch.cwd,
                    env=launch.env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    preexec_fn=launch.preexec,
                    pass_fds=launch.pass_fds,
                )
            except OSError as exc:
                raise SandboxError(f"Could not start a kernel process: {exc}") from exc
            finally:
                launch.close_fds()

    def exit_code(self, returncode: int) -> int:
        """A child's exit code as the program's own (negative: killed by that signal)."""
        return returncode

    async def run(self, language: str, code: str, stdin: str, limits: Limits) -> RunResult:
        lang = pick_language(self._languages, language)
        workdir = Path(tempfile.mkdtemp(prefix="run-", dir=self._runtime_dir))
        try:
            (workdir / lang.filename).write_text(code, encoding="utf-8")
            if lang.compile is not None:
                compiled = await self._run_in(workdir, lang.compile, "", compile_limits(limits))
                if compiled.status is not JobStatus.SUCCEEDED:
                    return compile_failure(compiled, limits)
            return await self._run_in(workdir, lang.run, stdin, limits)
        finally:
            await asyncio.to_thread(shutil.rmtree, workdir, ignore_errors=True)

    async def _run_in(
        self, workdir: Path, command: tuple[str, ...], stdin: str, limits: Limits
    ) -> RunResult:
        preexec = rlimits(limits, cpu_s=run_cpu_s(limits), nofile=RUN_NOFILE)
        launch = Launch(list(command), workdir, environment(workdir), preexec)
        return await run_process(launch, stdin, limits, exit_code=self.exit_code)

    async def close(self) -> None:
        await asyncio.gather(*(kernel.stop() for kernel in list(self._kernels)))


async def run_process(
    launch: Launch, stdin: str, limits: Limits, *, exit_code: Callable[[int], int]
) -> RunResult:
    """Run ``launch`` to its end under ``limits``; ``exit_code`` reads its return code."""
    try:
        process = await asyncio.create_subprocess_exec(
            *launch.argv,
            cwd=launch.cwd,
            env=launch.env,
            start_new_session=True,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=launch.preexec,
            pass_fds=launch.pass_fds,
        )
    except OSError as exc:
        raise SandboxError(f"Could not start the program: {exc}") from exc
    finally:
        launch.close_fds()
    started = time.monotonic()
    output = CappedOutput(limits.output_bytes)
    timed_out = await _supervise(process, stdin.encode(), output, limits.timeout_s)
    code = None if process.returncode is None else exit_code(process.returncode)
    killed_here = timed_out or output.exceeded
    status = run_status(
        code,
        timed_out=timed_out or code == -signal.SIGXCPU,
        output=output,
        oom_killed=not killed_here and _ran_out_of_memory(code, output),
    )
    return RunResult(
        status, code, output.text("stdout"), output.text("stderr"), time.monotonic() - started
    )


async def _supervise(
    process: asyncio.subprocess.Process, stdin: bytes, output: CappedOutput, timeout_s: float
) -> bool:
    """Feed stdin, read output under the cap, kill on timeout; True when it timed out."""
    assert process.stdout and process.stderr and process.stdin  # noqa: PT018 - all piped above
    exceeded = asyncio.Event()
    readers = [
        asyncio.ensure_future(_read(process.stdout, "stdout", output, exceeded)),
        asyncio.ensure_future(_read(process.stderr, "stderr", output, exceeded)),
    ]
    writer = asyncio.ensure_future(_write(process.stdin, stdin))
    # Not process.wait(): it also waits for the pipes, which a background child may hold.
    exited = asyncio.ensure_future(_exited(process.pid))
    stop = asyncio.ensure_future(exceeded.wait())
    helpers = (*readers, writer, stop, exited)
    try:
        done, _ = await asyncio.wait(
            {exited, stop}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        _kill_group(process.pid)  # the program, or whatever it left running in its group
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(_DRAIN_S):
                await process.wait()
        # What is still in the pipes; bounded, as a process that left the group may hold them.
        await asyncio.wait(readers, timeout=_DRAIN_S)
    finally:  # also when the run is cancelled: nothing of it may outlive it
        _kill_group(process.pid)
        for task in helpers:
            task.cancel()
        await asyncio.gather(*helpers, return_exceptions=True)
    return not done


async def host_version(command: tuple[str, ...]) -> str:
    """The first line a version command prints on this host ("" when it fails)."""
    try:
        process = await asyncio.create_subprocess_exec(
            *command,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=environment(Path("/")),
        )
    except OSError:
        return ""
    try:
        async with asyncio.timeout(10):  # not wait_for: it can swallow a stop's cancel
            output, _ = await process.communicate()
    except TimeoutError:
        return ""
    finally:
        if process.returncode is None:  # timed out, or the worker is stopping
            process.kill()
    return first_line(output.decode(errors="replace"))


async def _exited(pid: int) -> None:
    """Wait until process ``pid`` exits (its pidfd becomes readable), without reaping it."""
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not exited.done():
            exited.set_result(None)

    pidfd = os.pidfd_open(pid)
    loop.add_reader(pidfd, readable)
    try:
        await exited
    finally:
        loop.remove_reader(pidfd)
        os.close(pidfd)


async def _read(
    stream: asyncio.StreamReader, name: str, output: CappedOutput, exceeded: asyncio.Event
) -> None:
    while chunk := await stream.read(_READ_CHUNK_BYTES):
        if not output.add(name, chunk):
            exceeded.set()
            return


async def _write(stream: asyncio.StreamWriter, data: bytes) -> None:
    with contextlib.suppress(ConnectionError):  # the program may exit without reading stdin
        stream.write(data)
        await stream.drain()
        stream.close()


def _ran_out_of_memory(exit_code: int | None, output: CappedOutput) -> bool:
    if exit_code in (0, None):
        return False
    if exit_code == -signal.SIGKILL:
        return True  # the OOM killer (the caller has ruled out our own kills)
    lines = output.text("stderr").strip().splitlines()
    last = lines[-1] if lines else ""
    return last.startswith("MemoryError") or "Cannot allocate memory" in last
