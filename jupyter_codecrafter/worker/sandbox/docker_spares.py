"""Spare containers for snippet runs: created, attached and started ahead, so a run costs
writing its files and one line to a pipe instead of creating and starting a container (about
0.13 s of the daemon's time on 2 cores).

Each spare is a hardened container (the same options as any run's) whose shell waits on a
named pipe ``go`` in an empty host directory mounted read-only at ``/k``. A run writes its
program, stdin and command there, then a line to the pipe; the shell runs the command in its
place, and the container ends with the program, so its exit code is the run's. Nothing is
executed in a running container: measured here, 40 runs in started spares went 27/s through
the pipe and 23/s through ``docker exec``, and removing an exited container went 180/s where
removing one still running (as an exec'd spare is) went 22/s.

A spare serves exactly one run, never two. Spares have the default limits; a run that asks
for others, or needs a compile step, gets a container of its own. The pool refills in the
background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import select
import shlex
import shutil
import signal
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.types import LogConfig, Mount

from ... import metrics
from ...store.records import Limits
from ._connection import make_kernel_dir
from ._runs import CappedOutput, run_status
from .base import RunResult
from .docker_common import (
    LABEL_RUN,
    LABEL_SPARE,
    MOUNT,
    SANDBOX_TMP,
    attach,
    call,
    hardening,
    in_mount,
    in_thread,
    kill,
    read_stream,
    remove,
    signalled,
    write_program,
)
from .languages import Language
from .refill import Refill

log = logging.getLogger("jupyter_codecrafter.worker")

Labels = Callable[[str, str, Path], dict[str, str]]

GO = "go"  # the named pipe a spare waits on
SCRIPT = "run"  # the run's command, written by the worker just before the go
SPARE_COMMAND = ["sh", "-c", f"read -r _ < {MOUNT}/{GO} && exec sh {MOUNT}/{SCRIPT}"]


class SpareGone(Exception):
    """The spare ended, or said something, before its run: it cannot serve one."""


@dataclass(frozen=True, slots=True)
class Spare:
    container: Any
    run_dir: Path
    stream: Any  # the container's stdout and stderr, attached before it started


class DockerSpares:
    def __init__(
        self,
        client: Any,
        image: str,
        runtime_dir: Path,
        labels: Labels,
        *,
        size: int,
        limits: Limits,
    ) -> None:
        self._client, self._image, self._runtime_dir = client, image, runtime_dir
        self._labels = labels
        self.limits = limits
        self._retiring: set[asyncio.Task[None]] = set()
        # All at once: after a burst the daemon creates them side by side.
        self._pool: Refill[Spare] = Refill(
            self._make,
            discard,
            size=size,
            what="spare container",
            on_change=metrics.spare_containers,
        )

    @property
    def ready(self) -> int:
        return self._pool.ready

    def start(self) -> None:
        self._pool.start()

    def take(self, limits: Limits) -> Spare | None:
        """A started spare for a run with the pool's limits, if one is ready."""
        return self._pool.take() if limits == self.limits else None

    def held(self) -> AbstractContextManager[None]:
        """Around a run: no spare is made meanwhile (see :class:`Refill`)."""
        return self._pool.held()

    def retire(self, spare: Spare) -> None:
        """Remove a used spare in the background: its run's result need not wait for it."""
        task = asyncio.create_task(discard(spare), name="codecrafter-spare-discard")
        self._retiring.add(task)
        task.add_done_callback(self._retired)

    def _retired(self, task: asyncio.Task[None]) -> None:
        self._retiring.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not remove a used spare container", exc_info=task.exception())

    async def _make(self) -> Spare:
        run_dir = make_kernel_dir(self._runtime_dir)
        run_dir.chmod(0o755)  # read by the sandbox user, never written
        os.mkfifo(run_dir / GO)
        (run_dir / GO).chmod(0o644)  # the worker alone writes the go
        labels = {**self._labels(LABEL_RUN, run_dir.name, run_dir), LABEL_SPARE: "1"}
        try:
            container = await call(
                self._client.containers.create,
                self._image,
                SPARE_COMMAND,
                mounts=[Mount(MOUNT, str(run_dir), type="bind", read_only=True)],
                log_config=LogConfig(type="none"),
                **hardening(self.limits, labels, one_shot=True),
            )
        except BaseException:
            await in_thread(shutil.rmtree, run_dir, ignore_errors=True)
            raise
        spare = Spare(container, run_dir, None)
        try:
            spare = Spare(container, run_dir, await call(attach, self._client.api, container.id))
            await call(container.start)
        except BaseException:
            await discard(spare)
            raise
        return spare

    async def close(self) -> None:
        """Remove every spare, also one being made, and wait for those being removed."""
        await self._pool.close()
        await asyncio.gather(*self._retiring)


def write_run(spare: Spare, lang: Language, code: str, stdin: str) -> None:
    """The run's program, stdin and command, in the spare's directory: in /tmp, stdin from a
    file, so a large stdin cannot deadlock against the program's output."""
    write_program(spare.run_dir, lang, code, stdin)
    command = shlex.join(in_mount(lang.run, lang.filename))
    script = spare.run_dir / SCRIPT
    script.write_text(f"cd {SANDBOX_TMP} && exec {command} < {MOUNT}/stdin\n", encoding="utf-8")
    script.chmod(0o644)


async def run_in_spare(spare: Spare, limits: Limits) -> RunResult:
    """Start the run written by :func:`write_run`; the caller removes the spare after.
    :class:`SpareGone` when the spare cannot serve it (nothing has run then)."""
    if _stirred(spare):
        raise SpareGone
    started = time.monotonic()
    # Read and write: opening never blocks, and the line stays in the pipe until the shell
    # has read it, however late it opens its end.
    go = os.open(spare.run_dir / GO, os.O_RDWR)
    try:
        os.write(go, b"\n")
        output, timed_out = await _stream(spare, limits)
    finally:
        os.close(go)
    code = signalled((await call(spare.container.wait, timeout=30))["StatusCode"])
    killed_here = timed_out or output.exceeded
    timed_out = timed_out or code == -signal.SIGXCPU
    oom = not killed_here and code == -signal.SIGKILL  # nothing else kills inside
    status = run_status(code, timed_out=timed_out, output=output, oom_killed=oom)
    duration_s = time.monotonic() - started
    return RunResult(status, code, output.text("stdout"), output.text("stderr"), duration_s)


async def _stream(spare: Spare, limits: Limits) -> tuple[CappedOutput, bool]:
    """The run's output under the cap; True when its time ran out (the container is killed
    then, and when the output overflows)."""
    output = CappedOutput(limits.output_bytes)
    reader = asyncio.ensure_future(in_thread(read_stream, spare.stream, output))
    done, _ = await asyncio.wait({reader}, timeout=limits.timeout_s)
    # First: while output waits unread, the daemon can neither kill nor finish the container.
    _close(spare)
    if not done or output.exceeded:
        await call(kill, spare.container)
    with contextlib.suppress(OSError, ValueError):  # the reader's socket was closed under it
        await reader
    return output, not done


def _stirred(spare: Spare) -> bool:
    """True when the spare has written or ended: a waiting spare does neither."""
    sock = spare.stream._response.raw._fp.fp.raw  # as the SDK finds it to close it
    return bool(select.select([sock], [], [], 0)[0])


def _close(spare: Spare) -> None:
    if spare.stream is not None:
        with contextlib.suppress(OSError):
            spare.stream.close()


async def discard(spare: Spare) -> None:
    """Remove a spare and its directory (it never serves a second run)."""
    _close(spare)
    await call(remove, spare.container)
    await in_thread(shutil.rmtree, spare.run_dir, ignore_errors=True)


__all__ = ["DockerSpares", "Spare", "SpareGone", "discard", "run_in_spare", "write_run"]
