"""bwrap's command lines: what a sandbox sees (the binds), who it runs as, its files.

Pure functions of the limits and the sandbox's uid, kept apart from running sandboxes
(``bwrap.py``) so what a sandbox can see is readable in one place.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from pathlib import Path

from ...store.records import Limits

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
