"""Deployments for end-to-end tests: embedded (one process does everything) and scaled
(two server instances, a separate worker, RabbitMQ, Redis, Docker, MongoDB stand-in)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server import JupyterServer, Process, running, start_server, start_worker


@dataclass
class Deployment:
    """Two entry points a user may reach (the same server twice when embedded)."""

    first: JupyterServer
    second: JupyterServer
    worker: Process | None = None


def scaled_env(
    *, amqp_url: str, redis_url: str, store_url: str, image: str, namespace: str
) -> dict[str, str]:
    return {
        "CODECRAFTER_BROKER_URL": amqp_url,
        "CODECRAFTER_REDIS_URL": redis_url,
        "CODECRAFTER_STORE_URL": store_url,
        "CODECRAFTER_SANDBOX": "docker",
        "CODECRAFTER_SANDBOX_IMAGE": image,
        "CODECRAFTER_JWT_SECRET": secrets.token_urlsafe(48),
        "CODECRAFTER_NAMESPACE": namespace,
    }


def backends_env(tmp_path: Path, broker_url: str, redis_url: str, namespace: str) -> dict[str, str]:
    """Servers and workers sharing a broker, Redis and one SQLite file, with no warm pool
    (the fault tests count every kernel and run)."""
    return {
        "CODECRAFTER_BROKER_URL": broker_url,
        "CODECRAFTER_REDIS_URL": redis_url,
        "CODECRAFTER_STORE_URL": f"sqlite:///{tmp_path}/shared.db",
        "CODECRAFTER_JWT_SECRET": secrets.token_urlsafe(48),
        "CODECRAFTER_NAMESPACE": namespace,
        "CODECRAFTER_WARM_KERNELS": "0",
    }


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Deployment]:
    """One Jupyter server with the in-process queue, worker and bus, and the process sandbox."""
    server = start_server(tmp_path / "server", {"CODECRAFTER_SANDBOX": "process"})
    with running(server):
        yield Deployment(server, server)


@pytest.fixture
def scaled(
    tmp_path: Path,
    amqp_url: str,
    redis_clean: str,
    mongo_url: str,
    sandbox_image: str,
    namespace: str,
) -> Iterator[Deployment]:
    """Two server instances and one codecrafter-worker sharing RabbitMQ, Redis and MongoDB."""
    env = scaled_env(
        amqp_url=amqp_url,
        redis_url=redis_clean,
        store_url=mongo_url,
        image=sandbox_image,
        namespace=namespace,
    )
    first = start_server(tmp_path / "server1", env)
    second = start_server(tmp_path / "server2", env)
    worker = start_worker(tmp_path / "worker", env)
    with running(first, second, worker):
        yield Deployment(first, second, worker)
