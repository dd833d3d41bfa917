"""One-shot runs (snippets) in every sandbox backend, and the confined backends' hardening."""

from __future__ import annotations

import ast
import dataclasses
import uuid
from pathlib import Path
from typing import Any

import pytest

from jupyter_codecrafter.errors import ValidationFailed
from jupyter_codecrafter.store.records import JobStatus, Limits
from jupyter_codecrafter.worker.sandbox.base import Sandbox
from jupyter_codecrafter.worker.sandbox.cgroups import memory_root
from jupyter_codecrafter.worker.sandbox.docker import DockerSandbox
from tests.processes import processes_with
from tests.worker.conftest import LIMITS, leftover_containers

pytestmark = pytest.mark.asyncio(loop_scope="module")

FORK_BOMB = """
import os, time
forks = 0
try:
    while forks < 1000:
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        forks += 1
except BlockingIOError:
    print("fork refused after", forks)
"""
MEMORY_BOMB = "chunks = []\nwhile True:\n    chunks.append(bytearray(10 * 2**20))\n"


def limits(**changes: Any) -> Limits:
    return dataclasses.replace(LIMITS, **changes)


async def test_program_reads_stdin_and_writes_stdout(sandbox: Sandbox) -> None:
    """A Python program gets its stdin and its output comes back, with exit code 0."""
    result = await sandbox.run("python", "print(input().upper())", "hello\n", LIMITS)
    assert (result.status, result.exit_code, result.stdout) == (JobStatus.SUCCEEDED, 0, "HELLO\n")


async def test_bash_runs(sandbox: Sandbox) -> None:
    """Bash scripts run too, and the sandbox says it accepts them."""
    assert {"python", "bash"} <= set(sandbox.languages)
    result = await sandbox.run("bash", 'read name; echo "hi $name"', "ada\n", LIMITS)
    assert (result.status, result.stdout) == (JobStatus.SUCCEEDED, "hi ada\n")


async def test_failing_program_is_failed_with_its_stderr(sandbox: Sandbox) -> None:
    """A program that raises is FAILED, with a non-zero exit code and the traceback."""
    result = await sandbox.run("python", "raise ValueError('bad input')", "", LIMITS)
    assert result.status == JobStatus.FAILED
    assert result.exit_code == 1
    assert "ValueError: bad input" in result.stderr


async def test_unknown_language_is_refused(sandbox: Sandbox) -> None:
    """Asking for a language the sandbox lacks is a validation error naming what it accepts."""
    with pytest.raises(ValidationFailed, match="python"):
        await sandbox.run("cobol", "DISPLAY 'HI'.", "", LIMITS)


async def test_endless_program_times_out(sandbox: Sandbox) -> None:
    """A program running past its wall-clock limit is killed and TIMED_OUT, output kept."""
    code = "import time\nprint('started', flush=True)\ntime.sleep(60)"
    result = await sandbox.run("python", code, "", limits(timeout_s=1.0))
    assert result.status == JobStatus.TIMED_OUT
    assert result.stdout == "started\n"


async def test_output_flood_is_capped(sandbox: Sandbox) -> None:
    """A program printing without end is stopped at the output cap: OUTPUT_EXCEEDED."""
    result = await sandbox.run(
        "python", "while True: print('x' * 100)", "", limits(output_bytes=5000)
    )
    assert result.status == JobStatus.OUTPUT_EXCEEDED
    assert len(result.stdout) + len(result.stderr) == 5000


async def test_memory_bomb_is_memory_exceeded(sandbox: Sandbox) -> None:
    """A program allocating without end is stopped at the memory limit: MEMORY_EXCEEDED."""
    result = await sandbox.run("python", MEMORY_BOMB, "", limits(memory_mb=96))
    assert result.status == JobStatus.MEMORY_EXCEEDED


async def test_runs_leave_nothing_behind(
    sandbox: Sandbox, runtime_dir: Path, worker_id: str, request: pytest.FixtureRequest
) -> None:
    """After runs (even killed ones) no run directory and no container remain."""
    await sandbox.run("python", "print(1)", "", LIMITS)
    await sandbox.run("python", "import time; time.sleep(60)", "", limits(timeout_s=0.5))
    await sandbox.run("python", "while True: print(1)", "", limits(output_bytes=100))
    assert _run_dirs(runtime_dir) == []
    if sandbox.name == "docker":
        assert leftover_containers(request.getfixturevalue("docker_client"), worker_id) == []


def _run_dirs(runtime_dir: Path) -> list[Path]:
    # Kernels of the kernel suites use the same kind of name; this module starts none.
    return list(runtime_dir.iterdir())


async def test_process_run_kills_what_it_started(sandbox: Sandbox) -> None:
    """Background processes a program leaves running are killed when the run ends."""
    marker = f"{uuid.uuid4().int % 10**6 + 1000}"
    code = f"sleep {marker} &\nsleep {marker} &\necho started"
    result = await sandbox.run("bash", code, "", LIMITS)
    assert result.stdout == "started\n"
    assert processes_with(marker) == []


# Confined backends only: what the process backend (a resource fence) does not enforce.


async def test_long_silence_is_not_the_end(
    docker_sandbox: DockerSandbox, runtime_dir: Path
) -> None:
    """A program silent for longer than the Docker client's read timeout still finishes."""
    import docker

    impatient = DockerSandbox(
        docker_sandbox.image,
        client=docker.from_env(timeout=1),
        runtime_dir=str(runtime_dir),
        worker_id=docker_sandbox.worker_id,
    )
    result = await impatient.run("bash", "sleep 2; echo done", "", LIMITS)
    assert (result.status, result.stdout) == (JobStatus.SUCCEEDED, "done\n")


async def test_fork_bomb_is_contained(confined_sandbox: Sandbox) -> None:
    """A fork bomb hits the pids limit (fork refused) instead of exhausting the host."""
    result = await confined_sandbox.run("python", FORK_BOMB, "", limits(pids=32))
    assert result.status == JobStatus.SUCCEEDED
    assert result.stdout.startswith("fork refused after")
    assert int(result.stdout.split()[-1]) < 32


async def test_no_network(confined_sandbox: Sandbox, host_listener: int) -> None:
    """A run has no network: only loopback, and the host's services are unreachable."""
    code = (
        "import socket\n"
        "print([name for _, name in socket.if_nameindex()])\n"
        f"socket.create_connection(('127.0.0.1', {host_listener}), timeout=5)\n"
    )
    result = await confined_sandbox.run("python", code, "", LIMITS)
    assert result.stdout == "['lo']\n"
    assert result.status == JobStatus.FAILED
    assert "ConnectionRefusedError" in result.stderr


async def test_read_only_root_and_non_root_user(confined_sandbox: Sandbox) -> None:
    """Code runs as an unprivileged uid without capabilities and cannot write outside /tmp."""
    code = (
        "import os\n"
        "print(os.getuid() != 0, os.getgid() != 0)\n"
        "print(open('/proc/self/status').read().split('CapEff:')[1].split()[0])\n"
        "open('/tmp/ok', 'w').write('fine')\n"
        "open('/usr/evil', 'w')\n"
    )
    result = await confined_sandbox.run("python", code, "", LIMITS)
    assert result.stdout.splitlines() == ["True True", "0000000000000000"]
    assert result.status == JobStatus.FAILED
    assert "Read-only file system" in result.stderr


@pytest.mark.parametrize("directory", ["/tmp", "/dev/shm"])
async def test_tmpfs_is_bounded(confined_sandbox: Sandbox, directory: str) -> None:
    """Filling /tmp or /dev/shm beyond its size fails with 'No space left on device' (in
    files each under the file size limit, so the size of the filesystem is what stops it)."""
    code = f"for i in range(8): open(f'{directory}/part{{i}}', 'wb').write(b'0' * 4 * 2**20)"
    result = await confined_sandbox.run("python", code, "", limits(tmpfs_mb=8, memory_mb=256))
    assert result.status == JobStatus.FAILED
    assert "No space left on device" in result.stderr


async def test_environment_is_only_what_is_passed(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's environment (e.g. a secret) does not leak into user code."""
    monkeypatch.setenv("CODECRAFTER_TEST_SECRET", "hunter2")
    result = await sandbox.run("python", "import os; print(sorted(os.environ))", "", LIMITS)
    names = set(ast.literal_eval(result.stdout))
    assert "CODECRAFTER_TEST_SECRET" not in names
    assert {"HOME", "PATH", "LANG"} <= names


SHARED_MEMORY_BOMB = """
import mmap
chunk = 16 * 2**20
maps = []
for _ in range(16):
    maps.append(mmap.mmap(-1, chunk, flags=mmap.MAP_SHARED))
    for i in range(0, chunk, 4096):
        maps[-1][i] = 1
print("touched 256 MiB")
"""


async def test_shared_memory_counts_against_the_limit(confined_sandbox: Sandbox) -> None:
    """256 MiB of shared memory under a 96 MiB limit is stopped (a memory cgroup counts it,
    where a per-process rlimit would not), and the sandbox's cgroup is gone afterwards."""
    before = _codecrafter_cgroups()
    result = await confined_sandbox.run("python", SHARED_MEMORY_BOMB, "", limits(memory_mb=96))
    assert result.status == JobStatus.MEMORY_EXCEEDED
    assert "touched" not in result.stdout
    assert _codecrafter_cgroups() == before


def _codecrafter_cgroups() -> set[str]:
    root = memory_root()
    return {entry.name for entry in root.iterdir() if entry.is_dir()} if root else set()
