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

Not enforced here (Docker does it): a memory cgroup (memory is RLIMIT_DATA per process), a
CPU share, a seccomp filter.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
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

MOUNT = "/k"  # the kernel's socket directory inside
TMP = "/tmp"  # noqa: S108 - inside the sandbox: its own sized tmpfs
BUILD_DIR = "/tmp/build"  # noqa: S108 - inside the sandbox: where a compiler writes
SHM = "/dev/shm"  # noqa: S108 - the same
ENVIRONMENT = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": TMP,
    "TMPDIR": TMP,
    "LANG": "C.UTF-8",
}
# Read by the runtimes (the dynamic loader, Debian's alternatives, the time zone).
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime")
SYSTEM_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
# What a Python installation (or virtual environment) runs from. Not its etc/, where Jupyter
# reads the server's config (secrets, tokens), nor share/ or a pip.conf.
RUNTIME_PARTS = ("bin", "lib", "lib64", "pyvenv.cfg")
# Host configuration under the bound /usr: Jupyter's system config path, npm's global npmrc.
HIDDEN_DIRS = ("/usr/local/etc",)
# Uids of sandboxes when the worker runs as root: far from any real account.
UID_BASE, UID_SPAN = 2_000_000_000, 100_000_000
PROBE_TIMEOUT_S = 30.0


class BwrapKernel(ProcessKernel):
    """An ipykernel inside bubblewrap."""

    def _sockets_bound(self) -> None:
        # From now on the sandbox cannot swap a socket for a link the host would follow.
        seal_socket_dir(self._dir / "s")

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
        return info, Launch(argv, Path("/"), dict(ENVIRONMENT), preexec, tuple(files.values()))

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
        preexec = rlimits(limits, cpu_s=run_cpu_s(limits), nofile=RUN_NOFILE, nproc=_nproc(limits))
        fds = (*files.values(), *etc.values())
        launch = Launch(argv, Path("/"), dict(ENVIRONMENT), preexec, fds)
        return await run_process(launch, stdin, limits, exit_code=self.exit_code)

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
        preexec = rlimits(limits, cpu_s=run_cpu_s(limits), nofile=RUN_NOFILE, nproc=_nproc(limits))
        launch = Launch(argv, Path("/"), dict(ENVIRONMENT), preexec, tuple(etc.values()))
        return await run_process(launch, "", limits, exit_code=self.exit_code)

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


def sandbox_args(limits: Limits, uid: int) -> list[str]:
    """bwrap's options for one sandbox: what it sees, and its namespaces."""
    size = str(limits.tmpfs_mb * 1024 * 1024)
    return [
        # The tmpfs first: a runtime directory under /tmp (a venv in a clone there) is bound
        # on top of it, not hidden by it.
        *("--proc", "/proc", "--dev", "/dev"),
        *("--perms", "1777", "--size", size, "--tmpfs", TMP),
        *("--perms", "1777", "--size", size, "--tmpfs", SHM),
        *system_binds(),
        *(
            "--unshare-pid",
            "--unshare-net",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
        ),
        *user_namespace(uid),
        *("--hostname", "sandbox", "--die-with-parent", "--new-session"),
        "--clearenv",
        *(arg for name, value in ENVIRONMENT.items() for arg in ("--setenv", name, value)),
        *("--chdir", TMP),
    ]


def system_binds() -> list[str]:
    """/usr and the runtime's own directories read-only; the root's links to /usr as links."""
    args = ["--ro-bind", "/usr", "/usr"]
    for hidden in filter(os.path.isdir, HIDDEN_DIRS):
        args += ["--tmpfs", hidden, "--remount-ro", hidden]
    for name in SYSTEM_DIRS:
        args += bind_as_is(Path("/", name))
    directories = runtime_dirs()
    args += parent_dirs([*(f"{directory}/x" for directory in directories), "/etc/x"])
    for directory in directories:
        args += [arg for name in RUNTIME_PARTS for arg in bind_as_is(Path(directory, name))]
    for name in ETC_FILES:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def bind_as_is(path: Path) -> list[str]:
    """A link as the same link, anything else bound read-only; nothing when it is missing."""
    if path.is_symlink():
        return ["--symlink", os.readlink(path), str(path)]
    if path.exists():
        return ["--ro-bind", str(path), str(path)]
    return []


def parent_dirs(paths: list[str]) -> list[str]:
    """Create the directories above ``paths`` world-readable (bwrap would make them 0700, so
    the sandbox user could not reach what is bound below)."""
    made = {Path("/"), Path(TMP), Path("/dev")}  # by bwrap, or by the options before
    parents = {str(parent) for path in paths for parent in Path(path).parents if parent not in made}
    return [arg for parent in sorted(parents) for arg in ("--perms", "0755", "--dir", parent)]


def runtime_dirs() -> list[str]:
    """The Python installation (and virtual environment) kernels run on, when outside /usr."""
    found = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    inside_usr = {path for path in found if Path(path).is_relative_to("/usr")}
    return sorted(path for path in found - inside_usr if Path(path).is_dir())


def user_namespace(uid: int) -> list[str]:
    """As root: no user namespace (``drop_privileges`` switches to ``uid`` instead), so the
    uid is a real, unprivileged one; any other user can only map itself in a namespace."""
    if os.geteuid() == 0:
        return ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    return ["--unshare-user", "--uid", str(uid), "--gid", str(uid)]


def drop_privileges(uid: int) -> list[str]:
    """The command prefix that becomes ``uid`` for good (as root; nothing to drop otherwise)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
    return [
        setpriv,
        *("--reuid", str(uid), "--regid", str(uid), "--clear-groups"),
        *("--no-new-privs", "--bounding-set", "-all", "--inh-caps", "-all", "--"),
    ]


def sandbox_uid() -> int:
    """A fresh uid per sandbox as root (a collision only merges two process counts); the
    sandbox's view of the worker's own uid otherwise."""
    if os.geteuid() == 0:
        return UID_BASE + secrets.randbelow(UID_SPAN)
    return 1000


def _nproc(limits: Limits) -> int | None:
    # A fresh uid runs nothing else; as another user the process backend's count applies.
    return limits.pids if os.geteuid() == 0 else None


def user_files(uid: int) -> dict[str, int]:
    """/etc/passwd and /etc/group naming the sandbox user, for tools that look it up."""
    passwd = f"root:x:0:0::/nonexistent:/usr/sbin/nologin\nsandbox:x:{uid}:{uid}::{TMP}:/bin/sh\n"
    group = f"root:x:0:\nsandbox:x:{uid}:\n"
    return {"/etc/passwd": memory_file(passwd.encode()), "/etc/group": memory_file(group.encode())}


def file_args(files: dict[str, int], *, mode: str = "0444") -> list[str]:
    """bwrap's options copying each descriptor's content to its path, read-only."""
    return [arg for path, fd in files.items() for arg in ("--perms", mode, "--file", str(fd), path)]


def memory_file(data: bytes) -> int:
    """A descriptor of an anonymous file holding ``data``, at its start (for ``--file``)."""
    fd = os.memfd_create("codecrafter", os.MFD_CLOEXEC)  # the child gets it through pass_fds
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


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
