"""Stateful session kernels in both sandbox backends, driven through ``Kernel``."""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import pytest_asyncio
from nbformat.v4 import new_code_cell, new_notebook

from jupyter_codecrafter.errors import SandboxError
from jupyter_codecrafter.store.records import JobStatus, Limits
from jupyter_codecrafter.worker.kernel import ExecutionOutcome, Kernel
from jupyter_codecrafter.worker.sandbox.base import Sandbox
from jupyter_codecrafter.worker.sandbox.docker import DockerSandbox
from tests.worker.conftest import LIMITS, Recorder, leftover_containers, run

pytestmark = pytest.mark.asyncio(loop_scope="module")

SWALLOWS_INTERRUPTS = """
import time
while True:
    try:
        time.sleep(10)
    except KeyboardInterrupt:
        pass
"""
MEMORY_BOMB = "chunks = []\nwhile True:\n    chunks.append(bytearray(10 * 2**20))\n"


def stdout(outcome: ExecutionOutcome) -> str:
    return "".join(o["text"] for o in outcome.outputs if o.get("name") == "stdout")


def assert_valid_outputs(outcome: ExecutionOutcome) -> None:
    """The outputs are valid nbformat v4 outputs of a code cell."""
    cell = new_code_cell("", outputs=outcome.outputs, execution_count=outcome.execution_count)
    nbformat.validate(new_notebook(cells=[cell]))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def kernel(sandbox: Sandbox) -> AsyncIterator[Kernel]:
    """A kernel shared by the tests that leave it running."""
    started = await Kernel.start(sandbox, LIMITS)
    yield started
    await started.shutdown()


async def test_state_persists_between_executes(kernel: Kernel) -> None:
    """A variable set in one execute is there in the next: x=1, then print(x+1) shows 2."""
    first = await run(kernel, "x = 1")
    second = await run(kernel, "print(x + 1)")
    assert (first.status, second.status) == (JobStatus.SUCCEEDED, JobStatus.SUCCEEDED)
    assert stdout(second) == "2\n"
    assert first.execution_count is not None
    assert second.execution_count == first.execution_count + 1


async def test_history_is_kept_in_memory_only(kernel: Kernel) -> None:
    """In, _ and the history database's answers (%history -l, as a history_request) work,
    and no history file is written."""
    await run(kernel, "40 + 2")
    code = (
        "import os\nprint(_, In[-2])\n%history -l 1\n"
        "print(os.path.exists(os.path.join(get_ipython().profile_dir.location, 'history.sqlite')))"
    )
    assert stdout(await run(kernel, code)).splitlines() == ["42 40 + 2", "40 + 2", "False"]


async def test_listeners_and_the_run_both_get_what_the_kernel_publishes(kernel: Kernel) -> None:
    """A listener (the session's kernel channel) gets every message of a run, the run gets
    its output too, and a stopped listener gets nothing more."""
    heard: list[dict[str, Any]] = []
    stop = kernel.listen(heard.append)
    outcome = await run(kernel, "print('both')")
    stop()
    assert stdout(outcome) == "both\n"
    assert [m["content"]["text"] for m in heard if m["msg_type"] == "stream"] == ["both\n"]
    assert heard[-1]["content"] == {"execution_state": "idle"}
    count = len(heard)
    await run(kernel, "print('alone')")
    assert len(heard) == count


async def test_a_forged_message_from_the_kernel_is_skipped(kernel: Kernel) -> None:
    """Code that publishes a message without the connection's signature breaks nothing: the
    run ends normally with its output, and the next run works."""
    forged = [b"<IDS|MSG>", b"forged", b"{}", b"{}", b"{}", b"{}"]
    code = f"get_ipython().kernel.iopub_socket.send_multipart({forged!r})\nprint('after')"
    outcome = await run(kernel, code)
    assert (outcome.status, stdout(outcome)) == (JobStatus.SUCCEEDED, "after\n")
    assert stdout(await run(kernel, "print('next')")) == "next\n"


async def test_error_is_failed_with_an_error_output(kernel: Kernel) -> None:
    """An exception makes the run FAILED, with the error named and an nbformat error output."""
    outcome = await run(kernel, "undefined_name_here")
    assert outcome.status == JobStatus.FAILED
    assert outcome.error == "NameError: name 'undefined_name_here' is not defined"
    assert outcome.outputs[-1]["output_type"] == "error"
    assert outcome.outputs[-1]["ename"] == "NameError"
    assert_valid_outputs(outcome)


async def test_stream_chunks_are_merged_but_streamed_one_by_one(kernel: Kernel) -> None:
    """Listeners get each chunk as it comes; the stored outputs merge a stream's chunks."""
    recorder = Recorder()
    code = (
        "import sys, time\n"
        "for i in range(3):\n"
        "    print(i, flush=True); time.sleep(0.05)\n"
        "print('oops', file=sys.stderr, flush=True)\n"
        "print('done', flush=True)\n"
    )
    outcome = await run(kernel, code, recorder=recorder)
    assert [(o["name"], o["text"]) for o in outcome.outputs] == [
        ("stdout", "0\n1\n2\n"),
        ("stderr", "oops\n"),
        ("stdout", "done\n"),
    ]
    stdout_chunks = [e["text"] for e in recorder.events if e.get("name") == "stdout"]
    assert len(stdout_chunks) >= 3
    assert "".join(stdout_chunks) == "0\n1\n2\ndone\n"
    assert_valid_outputs(outcome)


async def test_rich_outputs(kernel: Kernel) -> None:
    """display() and a cell's last value give display_data and execute_result outputs."""
    code = "from IPython.display import HTML, display\ndisplay(HTML('<b>hi</b>'))\n6 * 7"
    outcome = await run(kernel, code)
    kinds = [o["output_type"] for o in outcome.outputs]
    assert kinds == ["display_data", "execute_result"]
    assert outcome.outputs[0]["data"]["text/html"] == "<b>hi</b>"
    assert outcome.outputs[1]["data"]["text/plain"] == "42"
    assert outcome.outputs[1]["execution_count"] == outcome.execution_count
    assert_valid_outputs(outcome)


async def test_clear_output(kernel: Kernel) -> None:
    """clear_output() drops what was shown before; listeners are told to clear too."""
    recorder = Recorder()
    code = "from IPython.display import clear_output\nprint('old')\nclear_output()\nprint('new')"
    outcome = await run(kernel, code, recorder=recorder)
    assert outcome.outputs == [{"output_type": "stream", "name": "stdout", "text": "new\n"}]
    assert [e["output_type"] for e in recorder.events] == ["stream", "clear_output", "stream"]


async def test_clear_output_wait_clears_only_when_new_output_comes(kernel: Kernel) -> None:
    """clear_output(wait=True) keeps the old output until something replaces it."""
    code = (
        "from IPython.display import clear_output\n"
        "print('a', flush=True)\nclear_output(wait=True)\nprint('b', flush=True)\n"
        "clear_output(wait=True)\n"
    )
    outcome = await run(kernel, code)
    assert outcome.outputs == [{"output_type": "stream", "name": "stdout", "text": "b\n"}]


async def test_display_update(kernel: Kernel) -> None:
    """Updating a display by its id replaces its data in the stored outputs."""
    code = "handle = display('before', display_id=True)\nhandle.update('after')"
    outcome = await run(kernel, code)
    assert [o["data"]["text/plain"] for o in outcome.outputs] == ["'after'"]
    assert_valid_outputs(outcome)


async def test_timeout_interrupts_and_the_kernel_stays_usable(kernel: Kernel) -> None:
    """A cell running past its timeout is TIMED_OUT; the kernel, and its state, survive."""
    outcome = await run(kernel, "import time\nkept = 5\ntime.sleep(60)", timeout_s=1.0)
    assert outcome.status == JobStatus.TIMED_OUT
    assert outcome.error == "Execution timed out after 1 s."
    assert kernel.is_alive
    assert stdout(await run(kernel, "print(kept)")) == "5\n"


async def test_output_flood_is_capped_and_the_kernel_stays_usable(kernel: Kernel) -> None:
    """A cell printing without end stops at the cap: OUTPUT_EXCEEDED, then the kernel works."""
    outcome = await run(kernel, "while True: print('y' * 99)", output_bytes=20_000)
    assert outcome.status == JobStatus.OUTPUT_EXCEEDED
    assert len(stdout(outcome).encode()) == 20_000
    assert stdout(await run(kernel, "print('still here')")) == "still here\n"


async def test_interrupt_cancels_the_running_cell(kernel: Kernel) -> None:
    """interrupt() stops a running cell (CANCELLED) and the kernel keeps going."""
    recorder = Recorder()
    code = "import time\nprint('started', flush=True)\ntime.sleep(60)"
    task = asyncio.ensure_future(run(kernel, code, recorder=recorder))
    await asyncio.wait_for(recorder.first.wait(), 20)
    await kernel.interrupt()
    outcome = await task
    assert outcome.status == JobStatus.CANCELLED
    assert stdout(await run(kernel, "print(1 + 1)")) == "2\n"


async def test_an_interrupt_as_the_cell_is_sent_still_stops_it(kernel: Kernel) -> None:
    """Stop pressed right after Run, before the kernel began the cell: the cell is still
    interrupted (CANCELLED), not left to run until its time limit."""
    code = "import time\ntime.sleep(60)"
    task = asyncio.ensure_future(
        kernel.execute(code, timeout_s=15, output_bytes=1000, on_output=Recorder(), tag="job")
    )
    async with asyncio.timeout(10):
        while kernel.running is None:  # the execute request is about to go out
            await asyncio.sleep(0)
    await kernel.interrupt()
    assert (await task).status == JobStatus.CANCELLED
    assert stdout(await run(kernel, "print(1 + 1)")) == "2\n"


async def test_cancelling_an_execute_interrupts_the_kernel(kernel: Kernel) -> None:
    """A cancelled execute (e.g. a cancelled job) stops the cell instead of leaving it running."""
    recorder = Recorder()
    code = "import time\nprint('started', flush=True)\ntime.sleep(60)"
    task = asyncio.ensure_future(run(kernel, code, recorder=recorder))
    await asyncio.wait_for(recorder.first.wait(), 20)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    outcome = await run(kernel, "print('free')", timeout_s=10)
    assert (outcome.status, stdout(outcome)) == (JobStatus.SUCCEEDED, "free\n")


async def test_executes_run_one_at_a_time_in_order(kernel: Kernel) -> None:
    """Two executes sent at once run in order: the second sees what the first set."""
    first = asyncio.ensure_future(run(kernel, "import time\ntime.sleep(0.3)\norder = 'first'"))
    second = asyncio.ensure_future(run(kernel, "print(order)"))
    await first
    assert stdout(await second) == "first\n"


async def test_environment_is_only_what_is_passed(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's environment (e.g. a secret) is not visible to kernel code."""
    monkeypatch.setenv("CODECRAFTER_TEST_SECRET", "hunter2")
    fresh = await Kernel.start(sandbox, LIMITS)
    try:
        outcome = await run(fresh, "import os; print('CODECRAFTER_TEST_SECRET' in os.environ)")
    finally:
        await fresh.shutdown()
    assert stdout(outcome) == "False\n"


async def test_memory_bomb_is_memory_exceeded(sandbox: Sandbox) -> None:
    """A cell allocating without end is MEMORY_EXCEEDED; after a restart the kernel works."""
    fresh = await Kernel.start(sandbox, dataclasses.replace(LIMITS, memory_mb=160))
    try:
        outcome = await run(fresh, MEMORY_BOMB)
        assert outcome.status == JobStatus.MEMORY_EXCEEDED
        await fresh.restart()
        assert stdout(await run(fresh, "print('fresh')")) == "fresh\n"
    finally:
        await fresh.shutdown()


async def test_kernel_that_ignores_interrupts_is_stopped_after_a_timeout(sandbox: Sandbox) -> None:
    """A cell that swallows the interrupt is TIMED_OUT and its kernel is stopped, not kept."""
    fresh = await Kernel.start(sandbox, LIMITS)
    fresh.interrupt_grace_s = 1.0
    code = SWALLOWS_INTERRUPTS
    try:
        outcome = await run(fresh, code, timeout_s=1.0)
        assert outcome.status == JobStatus.TIMED_OUT
        assert not fresh.is_alive
        assert (await run(fresh, "print(1)")).status == JobStatus.INTERNAL_ERROR
    finally:
        await fresh.shutdown()


async def test_a_kernel_that_dies_as_it_starts_is_reported_as_such(sandbox: Sandbox) -> None:
    """A kernel killed while it starts (8 MiB of memory) is found exited, not waited for."""
    with pytest.raises(SandboxError, match="exited while starting"):
        await Kernel.start(sandbox, Limits(timeout_s=30, memory_mb=8))


async def test_kernel_that_dies_is_an_internal_error(sandbox: Sandbox) -> None:
    """A kernel that exits mid-cell ends the run as INTERNAL_ERROR and is seen as dead."""
    fresh = await Kernel.start(sandbox, LIMITS)
    try:
        outcome = await run(fresh, "import os\nos._exit(3)")
        assert outcome.status == JobStatus.INTERNAL_ERROR
        assert not fresh.is_alive
    finally:
        await fresh.shutdown()


async def test_a_kernel_that_dies_between_runs_fails_the_next_run(sandbox: Sandbox) -> None:
    """A kernel that exits on its own after a run is found dead by the next run, which ends
    as INTERNAL_ERROR instead of waiting for ever."""
    fresh = await Kernel.start(sandbox, LIMITS)
    try:
        later = "import os, threading\nthreading.Timer(0.3, os._exit, [3]).start()"
        assert (await run(fresh, later)).status == JobStatus.SUCCEEDED
        await asyncio.sleep(0.5)  # gone now, though the worker last heard from it just now
        assert (await run(fresh, "print(1)")).status == JobStatus.INTERNAL_ERROR
        assert not fresh.is_alive and not await fresh.check_alive()
    finally:
        await fresh.shutdown()


async def test_restart_cancels_the_running_cell(sandbox: Sandbox) -> None:
    """Restarting during a long cell ends it as CANCELLED and gives a fresh, working kernel."""
    fresh = await Kernel.start(sandbox, LIMITS)
    try:
        recorder = Recorder()
        code = "import time\nprint('started', flush=True)\ntime.sleep(60)"
        task = asyncio.ensure_future(run(fresh, code, recorder=recorder))
        await asyncio.wait_for(recorder.first.wait(), 20)
        await fresh.restart()
        assert (await task).status == JobStatus.CANCELLED
        assert stdout(await run(fresh, "print('again')")) == "again\n"
    finally:
        await fresh.shutdown()


async def test_restart_resets_state(sandbox: Sandbox) -> None:
    """After a restart, variables are gone and the execution count starts over."""
    fresh = await Kernel.start(sandbox, LIMITS)
    try:
        await run(fresh, "secret = 42")
        await run(fresh, "secret")
        await fresh.restart()
        outcome = await run(fresh, "secret")
        assert outcome.status == JobStatus.FAILED
        assert outcome.error == "NameError: name 'secret' is not defined"
        assert outcome.execution_count == 1
    finally:
        await fresh.shutdown()


async def test_shutdown_leaves_nothing_behind(
    sandbox: Sandbox, runtime_dir: Path, request: pytest.FixtureRequest
) -> None:
    """After shutdown the kernel's directory, process and container are gone."""
    before = await asyncio.to_thread(os.listdir, runtime_dir)
    fresh = await Kernel.start(sandbox, LIMITS)
    (name,) = set(await asyncio.to_thread(os.listdir, runtime_dir)) - set(before)
    kernel_dir = runtime_dir / name
    await fresh.shutdown()
    assert not kernel_dir.exists()
    assert not fresh.is_alive
    outcome = await run(fresh, "print(1)")
    assert outcome.status == JobStatus.INTERNAL_ERROR
    if isinstance(sandbox, DockerSandbox):
        client = request.getfixturevalue("docker_client")
        labels = {
            c.labels.get("codecrafter.kernel")
            for c in leftover_containers(client, sandbox.worker_id)
        }
        assert kernel_dir.name not in labels


# Confined backends only: what the process backend (a resource fence) does not enforce.


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def confined_kernel(confined_sandbox: Sandbox) -> AsyncIterator[Kernel]:
    started = await Kernel.start(confined_sandbox, LIMITS)
    yield started
    await started.shutdown()


async def test_kernel_is_unprivileged_and_offline(
    confined_kernel: Kernel, host_listener: int
) -> None:
    """Kernel code runs as a non-root uid, cannot write outside /tmp and cannot reach the
    host."""
    assert stdout(await run(confined_kernel, "import os; print(os.getuid() > 0)")) == "True\n"
    denied = await run(confined_kernel, "open('/usr/evil', 'w')")
    assert denied.status == JobStatus.FAILED
    assert "Read-only file system" in str(denied.error)
    code = f"import socket\nsocket.create_connection(('127.0.0.1', {host_listener}), timeout=5)"
    offline = await run(confined_kernel, code)
    assert offline.status == JobStatus.FAILED
    assert offline.outputs[-1]["ename"] == "ConnectionRefusedError"


async def test_kernel_cannot_plant_links_for_the_host(confined_kernel: Kernel) -> None:
    """Once started, the kernel cannot replace its sockets (e.g. by a link the host follows)."""
    code = "import os\nos.symlink('/var/run/docker.sock', '/k/k-9')"
    outcome = await run(confined_kernel, code)
    assert outcome.status == JobStatus.FAILED
    assert outcome.outputs[-1]["ename"] == "PermissionError"
    removal = await run(confined_kernel, "import os\nos.unlink('/k/k-1')")
    assert removal.outputs[-1]["ename"] == "PermissionError"


async def test_kernel_sees_no_other_process(confined_kernel: Kernel) -> None:
    """The kernel's /proc shows only its own sandbox's processes, none of the host's."""
    outcome = await run(
        confined_kernel, "import os; print(sum(p.isdigit() for p in os.listdir('/proc')) < 5)"
    )
    assert stdout(outcome) == "True\n"


async def test_missing_image_is_a_clear_error(runtime_dir: Path, docker_available: None) -> None:
    """Without the sandbox image, starting a kernel says how to build it and leaves nothing."""
    before = await asyncio.to_thread(os.listdir, runtime_dir)
    missing = DockerSandbox("codecrafter-no-such-image:never", runtime_dir=str(runtime_dir))
    with pytest.raises(SandboxError, match="build-sandbox-image"):
        await Kernel.start(missing, LIMITS)
    with pytest.raises(SandboxError, match="build-sandbox-image"):
        await missing.run("python", "print(1)", "", LIMITS)
    assert await asyncio.to_thread(os.listdir, runtime_dir) == before


async def test_orphans_of_a_dead_worker_are_removed(
    sandbox_image: str, runtime_dir: Path, worker_id: str, docker_client: Any
) -> None:
    """Containers and directories a crashed worker left are found by label and removed."""
    dead_id = f"{worker_id}-crashed"
    crashed = DockerSandbox(sandbox_image, runtime_dir=str(runtime_dir), worker_id=dead_id)
    kernel = await crashed.start_kernel(LIMITS)  # never stopped: the worker "died"
    kernel_dir = Path(kernel.connection_info["ip"]).parent
    removed = await DockerSandbox.cleanup_orphans(docker_client, worker_id=dead_id)
    assert removed == 1
    assert leftover_containers(docker_client, dead_id) == []
    assert not kernel_dir.exists()


async def test_reap_removes_only_sandboxes_of_workers_that_are_gone(
    sandbox_image: str, runtime_dir: Path, worker_id: str, docker_client: Any
) -> None:
    """A worker's reap removes the kernels of dead workers and spares the living ones'."""
    dead_id, live_id = f"{worker_id}-dead", f"{worker_id}-live"
    dead = DockerSandbox(sandbox_image, runtime_dir=str(runtime_dir), worker_id=dead_id)
    live = DockerSandbox(sandbox_image, runtime_dir=str(runtime_dir), worker_id=live_id)
    me = DockerSandbox(sandbox_image, runtime_dir=str(runtime_dir), worker_id=f"{worker_id}-me")
    await dead.start_kernel(LIMITS)  # never stopped: its worker "died"
    await live.start_kernel(LIMITS)

    async def is_alive(candidate: str) -> bool:
        # Only the dead worker is gone: containers of other tests running meanwhile stay.
        return candidate != dead_id

    try:
        assert await me.reap(is_alive) == 1
        assert leftover_containers(docker_client, dead_id) == []
        assert len(leftover_containers(docker_client, live_id)) == 1
    finally:
        await live.close()
