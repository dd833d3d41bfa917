"""Spare containers: a snippet with the pool's limits runs in a container started ahead, under
the same limits as a container of its own, and each spare serves one run only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from prometheus_client import REGISTRY

from jupyter_codecrafter.store.records import JobStatus, Limits
from jupyter_codecrafter.worker.sandbox.docker import DockerSandbox

from .conftest import leftover_containers

pytestmark = pytest.mark.asyncio(loop_scope="module")

SPARE_LIMITS = Limits(
    timeout_s=3.0, memory_mb=128, cpus=1.0, pids=64, output_bytes=20_000, tmpfs_mb=16
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def spares_sandbox(
    sandbox_image: str, runtime_dir: Path, worker_id: str
) -> AsyncIterator[DockerSandbox]:
    """A DockerSandbox keeping two spares with SPARE_LIMITS."""
    box = DockerSandbox(
        sandbox_image,
        runtime_dir=str(runtime_dir),
        worker_id=worker_id,
        spares=2,
        spare_limits=SPARE_LIMITS,
    )
    box.start()
    yield box
    await box.close()


async def ready(box: DockerSandbox, count: int = 2) -> None:
    """Wait (up to 60 s) until ``count`` spares are started."""
    for _ in range(600):
        if box.spares.ready >= count:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"only {box.spares.ready} spares after 60 s")


async def removed(docker_client: Any, container_id: str) -> None:
    """Wait (up to 10 s) until the container is gone: used spares are removed just after."""
    for _ in range(100):
        if container_id not in {c.id for c in docker_client.containers.list(all=True)}:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"container {container_id[:12]} still there after 10 s")


async def run_in_spare(box: DockerSandbox, code: str, stdin: str = "") -> Any:
    """Run Python code, asserting it took a spare."""
    await ready(box)
    taken = box.spares._pool._ready[0].container.id
    result = await box.run("python", code, stdin, SPARE_LIMITS)
    assert taken not in {spare.container.id for spare in box.spares._pool._ready}
    return result


async def test_metrics_count_the_spares_ready(spares_sandbox: DockerSandbox) -> None:
    """The spare_containers gauge says how many spares wait, as a run takes one."""
    await ready(spares_sandbox)
    assert REGISTRY.get_sample_value("codecrafter_spare_containers") == 2
    taken = spares_sandbox.spares.take(SPARE_LIMITS)  # as a run does
    assert REGISTRY.get_sample_value("codecrafter_spare_containers") == 1
    assert taken is not None
    spares_sandbox.spares.retire(taken)


async def test_spare_runs_the_program_with_its_stdin(spares_sandbox: DockerSandbox) -> None:
    """A run in a spare reads its stdin and returns its stdout and exit code."""
    result = await run_in_spare(spares_sandbox, "print(input()[::-1])", "olleh\n")
    assert result.status is JobStatus.SUCCEEDED
    assert (result.stdout, result.exit_code) == ("hello\n", 0)


async def test_spare_serves_one_run_and_is_replaced(
    spares_sandbox: DockerSandbox, docker_client: Any
) -> None:
    """The spare a run used is removed, and the pool starts another in its place."""
    await ready(spares_sandbox)
    taken = spares_sandbox.spares._pool._ready[0].container.id
    result = await spares_sandbox.run("python", "print(1)", "", SPARE_LIMITS)
    assert result.stdout == "1\n"
    await ready(spares_sandbox)
    await removed(docker_client, taken)
    assert taken not in {spare.container.id for spare in spares_sandbox.spares._pool._ready}


async def test_a_run_leaves_nothing_for_the_next(spares_sandbox: DockerSandbox) -> None:
    """A file one run writes in /tmp is not there for the next run."""
    first = await run_in_spare(spares_sandbox, "open('/tmp/left', 'w').write('x'); print('ok')")
    assert first.stdout == "ok\n"
    second = await run_in_spare(spares_sandbox, "import os; print(os.path.exists('/tmp/left'))")
    assert second.stdout == "False\n"


async def test_a_spare_that_ended_while_waiting_is_not_used(
    spares_sandbox: DockerSandbox, docker_client: Any
) -> None:
    """A spare stopped before its run is skipped: the run gets a new container and succeeds."""
    await ready(spares_sandbox)
    dead = spares_sandbox.spares._pool._ready[0].container
    dead.kill()
    docker_client.api.wait(dead.id, timeout=10)
    result = await run_in_spare(spares_sandbox, "print('fresh')")
    assert (result.status, result.stdout) == (JobStatus.SUCCEEDED, "fresh\n")
    await removed(docker_client, dead.id)


async def test_background_processes_end_with_the_run(
    spares_sandbox: DockerSandbox, docker_client: Any
) -> None:
    """A process the program leaves behind ends with it: the spare's container ends too."""
    code = "import subprocess; subprocess.Popen(['sleep', '600'], start_new_session=True)"
    await ready(spares_sandbox)
    spare = spares_sandbox.spares._pool._ready[0].container.id
    result = await run_in_spare(spares_sandbox, code + "; print('left')")
    assert (result.status, result.stdout) == (JobStatus.SUCCEEDED, "left\n")
    assert docker_client.containers.list(filters={"id": spare}) == []  # running ones only


async def test_spare_run_times_out(spares_sandbox: DockerSandbox) -> None:
    """A program that sleeps past the limit is timed_out, with what it printed first."""
    code = "import time; print('started', flush=True); time.sleep(60)"
    result = await run_in_spare(spares_sandbox, code)
    assert result.status is JobStatus.TIMED_OUT
    assert result.stdout.startswith("started")
    assert result.duration_s < SPARE_LIMITS.timeout_s + 5


async def test_closing_its_output_does_not_escape_the_time_limit(
    spares_sandbox: DockerSandbox,
) -> None:
    """A program that closes stdout and stderr, then sleeps, is still stopped at its limit."""
    code = "import os, time; print('bye', flush=True); os.close(1); os.close(2); time.sleep(60)"
    result = await run_in_spare(spares_sandbox, code)
    assert (result.status, result.stdout) == (JobStatus.TIMED_OUT, "bye\n")
    assert result.duration_s < SPARE_LIMITS.timeout_s + 5


async def test_spare_run_cpu_limit(spares_sandbox: DockerSandbox) -> None:
    """A busy loop is stopped as timed_out (wall clock or CPU time, whichever comes first)."""
    result = await run_in_spare(spares_sandbox, "while True: pass")
    assert result.status is JobStatus.TIMED_OUT


async def test_spare_run_memory_bomb(spares_sandbox: DockerSandbox) -> None:
    """A program allocating past the memory limit is memory_exceeded."""
    result = await run_in_spare(spares_sandbox, "x = bytearray(512 * 1024 * 1024); print(1)")
    assert result.status is JobStatus.MEMORY_EXCEEDED


async def test_spare_run_output_is_capped(spares_sandbox: DockerSandbox) -> None:
    """An output flood stops at the cap and the run says why."""
    result = await run_in_spare(spares_sandbox, "while True: print('x' * 1000)")
    assert result.status is JobStatus.OUTPUT_EXCEEDED
    assert len(result.stdout) <= SPARE_LIMITS.output_bytes


async def test_spare_run_is_not_root_and_has_no_network(spares_sandbox: DockerSandbox) -> None:
    """Code in a spare runs as the sandbox user with no network interface but loopback."""
    code = "import os, socket; print(os.getuid()); print([n for _, n in socket.if_nameindex()])"
    result = await run_in_spare(spares_sandbox, code)
    assert result.stdout.splitlines() == ["1000", "['lo']"]


async def test_other_limits_get_their_own_container(spares_sandbox: DockerSandbox) -> None:
    """A run asking for other limits does not take a spare."""
    await ready(spares_sandbox)
    before = [spare.container.id for spare in spares_sandbox.spares._pool._ready]
    other = Limits(timeout_s=5.0, memory_mb=64, pids=32, output_bytes=1000, tmpfs_mb=8)
    result = await spares_sandbox.run("python", "print(2)", "", other)
    assert result.stdout == "2\n"
    assert [spare.container.id for spare in spares_sandbox.spares._pool._ready] == before


async def test_closing_removes_the_spares(
    sandbox_image: str, runtime_dir: Path, docker_client: Any
) -> None:
    """Closing the sandbox removes its started spares, and a used one still being removed."""
    box = DockerSandbox(
        sandbox_image, runtime_dir=str(runtime_dir), worker_id="spares-close", spares=2
    )
    box.start()
    await ready(box)
    assert len(leftover_containers(docker_client, "spares-close")) == 2
    assert (await box.run("python", "print(1)", "", Limits())).stdout == "1\n"
    await box.close()
    assert leftover_containers(docker_client, "spares-close") == []
