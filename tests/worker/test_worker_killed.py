"""What a worker killed outright (SIGKILL, the OOM killer) leaves of its process sandboxes:
its kernels and one-shot runs die with it instead of running on unowned. (What a run starts
itself dies too under bubblewrap, with the sandbox's pid namespace; the plain process
backend leaves it, as its module says.)"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.processes import process_dirs
from tests.waiting import eventually

# A stand-in for a worker: a kernel started, and a run that would take an hour.
WORKER = """
import asyncio, sys
from jupyter_codecrafter.worker.kernel import Kernel
from jupyter_codecrafter.worker.sandbox.bwrap import BwrapSandbox
from jupyter_codecrafter.worker.sandbox.process import ProcessSandbox
from tests.worker.conftest import LIMITS

async def main():
    backend = {"process": ProcessSandbox, "bwrap": BwrapSandbox}[sys.argv[1]]
    sandbox = backend(runtime_dir=sys.argv[2])
    await Kernel.start(sandbox, LIMITS)
    run = asyncio.create_task(sandbox.run("python", "import time; time.sleep(3600)", "", LIMITS))
    print("kernel started", flush=True)
    await run

asyncio.run(main())
"""


def users_of(directory: Path) -> list[int]:
    """Processes whose command line or working directory is inside ``directory``."""
    found = []
    for pid, path in process_dirs():
        try:
            cmdline = (path / "cmdline").read_bytes()
            cwd = os.readlink(path / "cwd")
            state = (path / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile, or not ours to look at
        if state != "Z" and (os.fsencode(directory) in cmdline or cwd.startswith(str(directory))):
            found.append(pid)
    return found


@pytest.mark.parametrize("backend", ["process", "bwrap"])
async def test_kernels_and_runs_die_with_their_worker(
    backend: str, runtime_dir: Path, request: pytest.FixtureRequest
) -> None:
    """SIGKILL a worker with a kernel and a run sleeping for an hour: within seconds no
    process of either is left."""
    if backend == "bwrap":
        request.getfixturevalue("bwrap_available")
    here = runtime_dir / backend
    here.mkdir()
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WORKER, backend, str(here), stdout=asyncio.subprocess.PIPE
    )
    assert worker.stdout is not None
    try:
        assert await asyncio.wait_for(worker.stdout.readline(), 60) == b"kernel started\n"
        await eventually(lambda: len(users_of(here)) >= 2)  # the kernel and the run
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    await eventually(lambda: not users_of(here), timeout_s=10)
