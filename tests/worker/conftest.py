"""Sandboxes for the worker suites: the process backend, bubblewrap, and the real Docker image.

Each module gets its own short runtime dir (unix socket paths must stay under 107 bytes) and,
for Docker, its own worker id, so "nothing left behind" checks see only this suite's leftovers.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from jupyter_codecrafter.store.records import Limits
from jupyter_codecrafter.worker.kernel import ExecutionOutcome, Kernel
from jupyter_codecrafter.worker.sandbox.base import Sandbox
from jupyter_codecrafter.worker.sandbox.bwrap import BwrapSandbox
from jupyter_codecrafter.worker.sandbox.docker import LABEL_WORKER, DockerSandbox
from jupyter_codecrafter.worker.sandbox.process import ProcessSandbox

BACKENDS = ["process", "bwrap", "docker"]
CONFINED = ["bwrap", "docker"]
LIMITS = Limits(timeout_s=20.0, memory_mb=256, cpus=1.0, pids=64, output_bytes=100_000, tmpfs_mb=16)


class Recorder:
    """An on_output callback that keeps what it was given."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.first = asyncio.Event()

    async def __call__(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        self.first.set()


async def run(
    kernel: Kernel,
    code: str,
    *,
    timeout_s: float = 20.0,
    output_bytes: int = 100_000,
    recorder: Recorder | None = None,
) -> ExecutionOutcome:
    return await kernel.execute(
        code, timeout_s=timeout_s, output_bytes=output_bytes, on_output=recorder or Recorder()
    )


@pytest.fixture(scope="module")
def runtime_dir() -> Iterator[Path]:
    """A short private directory for this module's kernels and runs."""
    path = Path(tempfile.mkdtemp(prefix="cct", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def worker_id() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def docker_sandbox(
    sandbox_image: str, runtime_dir: Path, worker_id: str
) -> AsyncIterator[DockerSandbox]:
    """A DockerSandbox on the real sandbox image."""
    box = DockerSandbox(sandbox_image, runtime_dir=str(runtime_dir), worker_id=worker_id)
    yield box
    await box.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def process_sandbox(runtime_dir: Path) -> AsyncIterator[ProcessSandbox]:
    box = ProcessSandbox(runtime_dir=str(runtime_dir))
    yield box
    await box.close()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def bwrap_sandbox(runtime_dir: Path, bwrap_available: None) -> AsyncIterator[BwrapSandbox]:
    box = BwrapSandbox(runtime_dir=str(runtime_dir))
    yield box
    await box.close()


@pytest.fixture(scope="module", params=BACKENDS)
def sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Each backend in turn: ProcessSandbox, BwrapSandbox, DockerSandbox on the real image."""
    box: Sandbox = request.getfixturevalue(f"{request.param}_sandbox")
    return box


@pytest.fixture(scope="module", params=CONFINED)
def confined_sandbox(request: pytest.FixtureRequest) -> Sandbox:
    """Each backend that is a security boundary: BwrapSandbox, then DockerSandbox."""
    box: Sandbox = request.getfixturevalue(f"{request.param}_sandbox")
    return box


@pytest.fixture(scope="module")
def docker_client(docker_available: None) -> Any:
    import docker

    return docker.from_env()


def leftover_containers(docker_client: Any, worker_id: str) -> list[Any]:
    return list(
        docker_client.containers.list(all=True, filters={"label": f"{LABEL_WORKER}={worker_id}"})
    )


@pytest.fixture
def host_listener() -> Iterator[int]:
    """A TCP port listening on the host's loopback (a service a sandbox must not reach)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])
