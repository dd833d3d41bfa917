"""Docker sandboxes: every kernel and every one-shot run in its own hardened container.

Each container has no network, a read-only root, sized tmpfs at /tmp (also HOME) and
/dev/shm, memory (no swap), pids and CPU limits, all capabilities dropped,
no-new-privileges, uid 1000, a tiny init (docker-init) as PID 1 so signals and zombies are
handled, and only the environment given here. Containers are labelled so leftovers of a
crashed worker can be found and removed (:meth:`DockerSandbox.cleanup_orphans`).

A kernel's ZMQ ipc sockets live in a short host directory mounted at ``/k``; its connection
file comes in read-only and is copied to the tmpfs. Once the sockets exist the directory is
handed back to root, so the sandbox cannot swap a socket for a symlink the host would follow.
A run gets its program and stdin as files in a read-only mount at ``/k``, and its output is
read through attach (never logged to disk), up to the cap.

The docker SDK is synchronous; its calls run in threads and its errors become
:class:`SandboxError`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import signal
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import docker
import docker.errors
from docker.types import LogConfig, Mount

from ...errors import SandboxError
from ...store.records import JobStatus, Limits
from ._connection import (
    CONNECTION_FILE,
    SOCKET_NAME,
    check_ready,
    ensure_runtime_dir,
    make_kernel_dir,
    make_socket_dir,
    seal_socket_dir,
    wait_for_sockets,
    write_connection_file,
)
from ._runs import CappedOutput, compile_failure, compile_limits, run_status
from .base import KernelSandbox, RunResult, Sandbox
from .docker_common import (
    CONNECTION_MOUNT,
    KERNEL_COMMAND,
    LABEL,
    LABEL_DIR,
    LABEL_KERNEL,
    LABEL_RUN,
    LABEL_WORKER,
    MOUNT,
    SANDBOX_TMP,
    SANDBOX_UID,
    attach,
    call,
    client_from_env,
    hardening,
    in_mount,
    in_thread,
    kill,
    read_stream,
    remove,
    signalled,
    write_program,
)
from .docker_spares import DockerSpares, SpareGone, run_in_spare, write_run
from .languages import LANGUAGES, Language, first_line, pick_language

log = logging.getLogger("jupyter_codecrafter.worker")


class DockerKernel(KernelSandbox):
    """An ipykernel in its own container."""

    def __init__(
        self, sandbox: DockerSandbox, container: Any, kernel_dir: Path, info: dict[str, Any]
    ) -> None:
        super().__init__(kernel_dir, info)
        self._sandbox = sandbox
        self._container = container

    async def _state(self) -> dict[str, Any]:
        try:
            await call(self._container.reload)
        except SandboxError as exc:
            if isinstance(exc.__cause__, docker.errors.NotFound):
                return {}
            raise
        state: dict[str, Any] = self._container.attrs["State"]
        return state

    async def is_alive(self) -> bool:
        if self._stopped:
            return False
        return bool((await self._state()).get("Running"))

    async def was_oom_killed(self) -> bool:
        return bool((await self._state()).get("OOMKilled"))

    async def interrupt(self) -> None:
        if not self._stopped:
            await call(self._container.kill, signal="SIGINT")

    async def start(self, timeout_s: float) -> None:
        """Start the container and wait until the kernel answers."""
        deadline = time.monotonic() + timeout_s
        await call(self._container.start)
        await wait_for_sockets(self._info, timeout_s=timeout_s, is_alive=self.is_alive)
        seal_socket_dir(self._dir / "s")
        remaining_s = max(deadline - time.monotonic(), 1.0)
        await check_ready(self._info, timeout_s=remaining_s, is_alive=self.is_alive)

    async def logs_tail(self, limit_bytes: int = 4000) -> str:
        try:
            logs: bytes = await call(self._container.logs, tail=50)
        except SandboxError:
            return ""
        return logs[-limit_bytes:].decode("utf-8", errors="replace")

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._sandbox._kernels.discard(self)
        try:
            await call(remove, self._container)
        finally:
            await in_thread(shutil.rmtree, self._dir, ignore_errors=True)


class DockerSandbox(Sandbox):
    """Kernels and runs in hardened containers of ``image``."""

    name = "docker"
    confined = True

    def __init__(
        self,
        image: str,
        *,
        client: Any = None,
        runtime_dir: str | None = None,
        worker_id: str | None = None,
        start_timeout_s: float = 60.0,
        spares: int = 0,
        spare_limits: Limits | None = None,
    ) -> None:
        """``spares``: containers kept started for snippet runs with ``spare_limits``."""
        self.image = image
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}"
        self.start_timeout_s = start_timeout_s
        self._client = client if client is not None else client_from_env()
        self._runtime_dir = ensure_runtime_dir(runtime_dir)
        self._kernels: set[DockerKernel] = set()
        self._versions: dict[str, str] | None = None
        self.spares = DockerSpares(
            self._client,
            image,
            self._runtime_dir,
            self._labels,
            size=spares,
            limits=spare_limits or Limits(),
        )

    def start(self) -> None:
        self.spares.start()

    @property
    def language_table(self) -> dict[str, Language]:
        return dict(LANGUAGES)

    async def versions(self) -> dict[str, str]:
        """Asked of the image once, in one hardened container."""
        if self._versions is None:
            self._versions = await self._ask_versions()
        return dict(self._versions)

    async def _ask_versions(self) -> dict[str, str]:
        separator = "@@codecrafter@@"
        script = f"; echo {separator}; ".join(
            " ".join(lang.version) + " 2>&1" for lang in LANGUAGES.values()
        )
        run_dir = make_kernel_dir(self._runtime_dir)
        try:
            write_program(run_dir, LANGUAGES["bash"], script, "")
            result = await self._run_in(run_dir, ["sh", f"{MOUNT}/main.sh"], Limits(timeout_s=30))
        finally:
            await in_thread(shutil.rmtree, run_dir, ignore_errors=True)
        answers = result.stdout.split(separator)
        return {lang: first_line(text) for lang, text in zip(LANGUAGES, answers, strict=False)}

    def _labels(self, kind: str, name: str, host_dir: Path) -> dict[str, str]:
        return {kind: name, LABEL_WORKER: self.worker_id, LABEL_DIR: str(host_dir)}

    async def start_kernel(self, limits: Limits) -> DockerKernel:
        kernel_dir = make_kernel_dir(self._runtime_dir)
        try:
            connection_file = kernel_dir / CONNECTION_FILE
            info = write_connection_file(
                connection_file,
                ip_inside=f"{MOUNT}/{SOCKET_NAME}",
                socket_dir=make_socket_dir(kernel_dir, SANDBOX_UID),
                uid=SANDBOX_UID,
            )
            container = await call(
                self._client.containers.create,  # unlike run(), never pulls a missing image
                self.image,
                list(KERNEL_COMMAND),
                mounts=[
                    Mount(MOUNT, str(kernel_dir / "s"), type="bind"),
                    Mount(CONNECTION_MOUNT, str(connection_file), type="bind", read_only=True),
                ],
                log_config=LogConfig(type="json-file", config={"max-size": "1m", "max-file": "1"}),
                **hardening(limits, self._labels(LABEL_KERNEL, kernel_dir.name, kernel_dir)),
            )
        except BaseException:
            shutil.rmtree(kernel_dir, ignore_errors=True)
            raise
        kernel = DockerKernel(self, container, kernel_dir, info)
        self._kernels.add(kernel)
        await _start_or_stop(kernel, self.start_timeout_s)
        return kernel

    async def run(self, language: str, code: str, stdin: str, limits: Limits) -> RunResult:
        lang = pick_language(LANGUAGES, language)
        if lang.compile is None:
            done = await self._run_in_spare(lang, code, stdin, limits)
            if done is not None:
                return done
        run_dir = make_kernel_dir(self._runtime_dir)
        try:
            write_program(run_dir, lang, code, stdin)
            if lang.compile is not None:
                compiled = await self._compile(run_dir, lang.compile, limits)
                if compiled.status is not JobStatus.SUCCEEDED:
                    return compile_failure(compiled, limits)
            return await self._run_in(run_dir, run_command(lang), limits)
        finally:
            await in_thread(shutil.rmtree, run_dir, ignore_errors=True)

    async def _run_in_spare(
        self, lang: Language, code: str, stdin: str, limits: Limits
    ) -> RunResult | None:
        """The run's result in a spare, or None when no spare can take it."""
        with self.spares.held():  # the burst first, the refill after
            spare = self.spares.take(limits)
            if spare is None:
                return None
            try:
                write_run(spare, lang, code, stdin)
                return await run_in_spare(spare, limits)
            except SpareGone:
                log.warning("a spare container ended before its run; running in a new one")
                return None
            finally:
                self.spares.retire(spare)

    async def _compile(self, run_dir: Path, command: tuple[str, ...], limits: Limits) -> RunResult:
        """Compile in a container of its own that may write the binary to the mount."""
        os.chown(run_dir, SANDBOX_UID, SANDBOX_UID)
        try:
            script = f'cd {MOUNT} && exec "$@"'
            return await self._run_in(
                run_dir, ["sh", "-c", script, "sh", *command], compile_limits(limits), writable=True
            )
        finally:
            os.chown(run_dir, os.getuid(), os.getgid())

    async def _run_in(
        self, run_dir: Path, command: list[str], limits: Limits, *, writable: bool = False
    ) -> RunResult:
        container = await call(
            self._client.containers.create,
            self.image,
            command,
            mounts=[Mount(MOUNT, str(run_dir), type="bind", read_only=not writable)],
            log_config=LogConfig(type="none"),  # output is read by attach, never kept on disk
            **hardening(limits, self._labels(LABEL_RUN, run_dir.name, run_dir), one_shot=True),
        )
        try:
            return await self._attach_and_wait(container, limits)
        finally:
            await call(remove, container)

    async def _attach_and_wait(self, container: Any, limits: Limits) -> RunResult:
        stream = await call(attach, self._client.api, container.id)
        output = CappedOutput(limits.output_bytes)
        started = time.monotonic()
        try:
            await call(container.start)
            reader = asyncio.ensure_future(in_thread(read_stream, stream, output))
            done, _ = await asyncio.wait({reader}, timeout=limits.timeout_s)
        finally:
            # First: while output waits unread, the daemon can neither kill nor finish it.
            stream.close()
        timed_out = not done
        if timed_out or output.exceeded:
            await call(kill, container)
        await reader
        exit_code = signalled((await call(container.wait, timeout=30))["StatusCode"])
        duration_s = time.monotonic() - started
        await call(container.reload)
        oom = bool(container.attrs["State"].get("OOMKilled")) and not timed_out
        cpu_out = exit_code == -signal.SIGXCPU
        status = run_status(
            exit_code, timed_out=timed_out or cpu_out, output=output, oom_killed=oom
        )
        return RunResult(
            status, exit_code, output.text("stdout"), output.text("stderr"), duration_s
        )

    async def close(self) -> None:
        await self.spares.close()
        await asyncio.gather(*(kernel.stop() for kernel in list(self._kernels)))

    async def reap(self, is_alive: Callable[[str], Awaitable[bool]]) -> int:
        """Remove the sandboxes of other workers on this daemon that are gone."""
        containers = await _listed(self._client, LABEL)
        owners = {_labels(c).get(LABEL_WORKER) for c in containers} - {self.worker_id, None}
        removed = 0
        for owner in owners:
            if owner is not None and not await is_alive(owner):
                removed += await self.cleanup_orphans(self._client, worker_id=owner)
        return removed

    @classmethod
    async def cleanup_orphans(cls, client: Any = None, *, worker_id: str | None = None) -> int:
        """Remove sandbox containers (and their host dirs) left by a worker that died.

        With ``worker_id``, only that worker's; without, every sandbox on this daemon (call it
        only where no other worker shares the daemon). Returns how many were removed.
        """
        client = client if client is not None else client_from_env()
        label = f"{LABEL_WORKER}={worker_id}" if worker_id else LABEL
        containers = await _listed(client, label)
        for container in containers:
            await call(remove, container)
            host_dir = _labels(container).get(LABEL_DIR)
            if host_dir:
                await in_thread(shutil.rmtree, host_dir, ignore_errors=True)
        return len(containers)


async def _listed(client: Any, label: str) -> list[Any]:
    """The containers, running or not, that carry ``label``, from one call to the daemon.
    Without ``sparse`` the SDK inspects each in turn: every maintenance round paid that for
    each kernel (50 ms with 30 of them, a round of the classroom benchmark delayed)."""
    containers = await call(client.containers.list, all=True, filters={"label": label}, sparse=True)
    return cast(list[Any], containers)


def _labels(container: Any) -> dict[str, str]:
    """The labels of a container listed with ``sparse`` (its ``labels`` needs an inspect)."""
    return cast(dict[str, str], container.attrs.get("Labels") or {})


async def _start_or_stop(kernel: DockerKernel, timeout_s: float) -> None:
    try:
        await kernel.start(timeout_s)
    except BaseException as exc:
        logs = await kernel.logs_tail()
        await kernel.stop()
        if isinstance(exc, SandboxError):
            raise SandboxError(exc.message, details={"kernel_log": logs}) from exc
        raise


def run_command(lang: Language) -> list[str]:
    """The program's command in a container: in /tmp, its files in the mount; stdin from a
    file, so a large stdin cannot deadlock against the program's output."""
    script = f'cd {SANDBOX_TMP} && exec "$@" < {MOUNT}/stdin'
    return ["sh", "-c", script, "sh", *in_mount(lang.run, lang.filename)]
