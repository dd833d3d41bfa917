"""A memory cgroup per bubblewrap sandbox, when the worker may make them (as root).

An rlimit bounds each process's private memory only: shared memory (``mmap`` shared,
``memfd``, System V segments) and several processes together escape it. A cgroup counts all
of a sandbox's memory, tmpfs pages included, as Docker's does: beyond it the kernel kills
inside the sandbox, and its ``oom_kill`` count says so. Swap is not allowed.

Both layouts: cgroup v1 (``/sys/fs/cgroup/memory``) and v2 (``memory.max`` in the unified
hierarchy). Without either writable (not root, or no memory controller), sandboxes keep the
rlimits alone, and the start-up log says so.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PARENT = "codecrafter"


def memory_root() -> Path | None:
    """Where this worker may make memory cgroups, or None."""
    for base in (ROOT / "memory", ROOT):  # v1, then v2
        if (base / "memory.limit_in_bytes").exists() or (base / "cgroup.controllers").exists():
            parent = base / PARENT
            with contextlib.suppress(OSError):
                parent.mkdir(exist_ok=True)
                if os.access(parent, os.W_OK):
                    _enable_memory_v2(parent)
                    return parent
    return None


def _enable_memory_v2(parent: Path) -> None:
    control = parent / "cgroup.subtree_control"
    if control.exists():
        control.write_text("+memory")


class MemoryCgroup:
    """One sandbox's cgroup: its limit, who joins it, whether it killed, and removal."""

    def __init__(self, root: Path, limit_mb: int) -> None:
        self.path = root / secrets.token_hex(6)
        self.path.mkdir()
        self._v2 = (self.path / "memory.max").exists()
        limit = str(limit_mb * 1024 * 1024)
        if self._v2:
            self._write("memory.max", limit)
            self._write("memory.swap.max", "0", optional=True)
        else:
            self._write("memory.limit_in_bytes", limit)
            self._write("memory.memsw.limit_in_bytes", limit, optional=True)
        self._procs = str(self.path / "cgroup.procs")

    def join(self) -> None:
        """Move the calling process in: for a child, before it execs (async-signal-safe
        enough: one open and write)."""
        fd = os.open(self._procs, os.O_WRONLY)
        try:
            os.write(fd, str(os.getpid()).encode())
        finally:
            os.close(fd)

    def oom_killed(self) -> bool:
        name = "memory.events" if self._v2 else "memory.oom_control"
        with contextlib.suppress(OSError, ValueError):
            for line in (self.path / name).read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "oom_kill":
                    return int(value) > 0
        return False

    def remove(self) -> None:
        """Kill what is left inside, then remove the cgroup (best effort, bounded)."""
        for _ in range(50):
            with contextlib.suppress(OSError, ValueError):
                pids = [int(pid) for pid in (self.path / "cgroup.procs").read_text().split()]
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(FileNotFoundError):
                try:
                    self.path.rmdir()
                except OSError:  # busy until the killed processes are gone
                    time.sleep(0.01)
                    continue
            return

    def _write(self, name: str, value: str, *, optional: bool = False) -> None:
        try:
            (self.path / name).write_text(value)
        except OSError:
            if not optional:
                raise
