"""Spare containers for snippet runs: started ahead, so a run costs a ``docker exec``
(about 0.1 s) instead of creating and starting a container (about 0.3 s).

Each spare is a hardened container (the same options as any run's) that only sleeps, with an
empty host directory mounted read-only at ``/k``. A run writes its program and stdin there,
executes it in the container, and the container is then removed: a spare serves exactly one
run, never two. Spares have the default limits; a run that asks for others, or needs a
compile step, gets a container of its own as before. The pool refills in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.types import LogConfig, Mount
from docker.utils.socket import frames_iter

from ...store.records import Limits
from ._connection import make_kernel_dir
from ._runs import CappedOutput, run_status
from .base import RunResult
from .docker_common import (
    ENVIRONMENT,
    LABEL_RUN,
    LABEL_SPARE,
    MOUNT,
    SANDBOX_TMP,
    SANDBOX_UID,
    call,
    hardening,
    kill,
    remove,
    signalled,
)
from .refill import Refill

log = logging.getLogger("jupyter_codecrafter.worker")

Labels = Callable[[str, str, Path], dict[str, str]]


@dataclass(frozen=True, slots=True)
class Spare:
    container: Any
    run_dir: Path


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
        self._pool: Refill[Spare] = Refill(self._make, discard, size=size, what="spare container")

    @property
    def size(self) -> int:
        return self._pool.size

    @property
    def ready(self) -> int:
        return self._pool.ready

    def start(self) -> None:
        self._pool.start()

    def take(self, limits: Limits) -> Spare | None:
        """A started spare for a run with the pool's limits, if one is ready."""
        return self._pool.take() if limits == self.limits else None

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
        labels = {**self._labels(LABEL_RUN, run_dir.name, run_dir), LABEL_SPARE: "1"}
        container = await call(
            self._client.containers.create,
            self._image,
            ["sleep", "infinity"],
            mounts=[Mount(MOUNT, str(run_dir), type="bind", read_only=True)],
            log_config=LogConfig(type="none"),
            **hardening(self.limits, labels, one_shot=True),
        )
        spare = Spare(container, run_dir)
        try:
            await call(container.start)
        except BaseException:
            await discard(spare)
            raise
        return spare

    async def close(self) -> None:
        """Remove every spare, also one being made, and wait for those being removed."""
        await self._pool.close()
        await asyncio.gather(*self._retiring)


async def run_in_spare(api: Any, spare: Spare, command: list[str], limits: Limits) -> RunResult:
    """Run ``command`` (the program and stdin are in the spare's directory); the caller
    removes the spare after."""
    started = time.monotonic()
    exec_id = (
        await call(
            api.exec_create,
            spare.container.id,
            command,
            stdout=True,
            stderr=True,
            user=f"{SANDBOX_UID}:{SANDBOX_UID}",
            environment=ENVIRONMENT,
            workdir=SANDBOX_TMP,
        )
    )["Id"]
    output, timed_out = await _stream(api, spare, exec_id, limits)
    exit_code = (await call(api.exec_inspect, exec_id)).get("ExitCode")
    code = None if exit_code is None else signalled(exit_code)
    killed_here = timed_out or output.exceeded
    timed_out = timed_out or code == -signal.SIGXCPU
    oom = not killed_here and code == -signal.SIGKILL  # nothing else kills inside
    status = run_status(code, timed_out=timed_out, output=output, oom_killed=oom)
    duration_s = time.monotonic() - started
    return RunResult(status, code, output.text("stdout"), output.text("stderr"), duration_s)


async def _stream(
    api: Any, spare: Spare, exec_id: str, limits: Limits
) -> tuple[CappedOutput, bool]:
    """The run's output under the cap; True when its time ran out (the container is killed
    then, and when the output overflows)."""
    sock = await call(api.exec_start, exec_id, socket=True)
    # As attach: the SDK's read timeout would end a program silent for longer.
    api._disable_socket_timeout(sock)
    output = CappedOutput(limits.output_bytes)
    reader = asyncio.ensure_future(asyncio.to_thread(_read, sock, output))
    done, _ = await asyncio.wait({reader}, timeout=limits.timeout_s)
    if not done or output.exceeded:
        await call(kill, spare.container)
    with contextlib.suppress(OSError):
        sock.close()
    with contextlib.suppress(OSError):
        await reader
    return output, not done


def _read(sock: Any, output: CappedOutput) -> None:
    for stream, chunk in _frames(sock):
        name = "stderr" if stream == 2 else "stdout"
        if not output.add(name, chunk):
            return


def _frames(sock: Any) -> Iterator[tuple[int, bytes]]:
    for stream, chunk in frames_iter(sock, tty=False):
        if chunk:
            yield stream, chunk


async def discard(spare: Spare) -> None:
    """Remove a spare and its directory (it never serves a second run)."""
    await call(remove, spare.container)
    await asyncio.to_thread(shutil.rmtree, spare.run_dir, ignore_errors=True)


__all__ = ["DockerSpares", "Spare", "discard", "run_in_spare"]
