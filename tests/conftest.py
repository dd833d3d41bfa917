"""Fixtures for the real services: Redis, RabbitMQ, MongoDB (or its stand-in), Docker.

URLs can be pointed elsewhere with ``CODECRAFTER_TEST_<SERVICE>_URL``. Every fixture gives
a test its own namespace (Redis database flushed, unique queue/database names) so tests
don't see each other's data.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import gc
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from jupyter_codecrafter.store.sqlite.database import THREAD_NAME as SQLITE_THREAD
from tests.client import Api
from tests.namespaces import new_namespace, used
from tests.private_services import RabbitServer, RedisServer
from tests.server import LIVE, JupyterServer, running, start_server
from tests.services import docker_probe, free_port, need, unavailable, wait_for_port


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A failing test's report ends with the logs of the servers and workers it ran."""
    report = yield
    if report.failed:
        for process in LIVE:
            report.sections.append((f"log {process.log_path}", process.log_tail()))
    return report


def pytest_unconfigure(config: pytest.Config) -> None:
    """A run whose interpreter cannot exit (a thread left running) fails with every thread's
    stack after a minute, instead of hanging until CI's deadline."""
    faulthandler.dump_traceback_later(60, exit=True)


def _sqlite_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith(SQLITE_THREAD)}


@pytest.fixture(autouse=True)
def sqlite_connections_closed() -> Iterator[None]:
    """A test that leaves a SQLite store open fails, naming itself: its connection and
    thread would live until the run ends."""
    before = _sqlite_threads()
    yield
    if not _sqlite_threads() - before:
        return
    gc.collect()  # a connection nobody holds stops its thread when collected
    for thread in _sqlite_threads() - before:
        thread.join(timeout=2)
    left = _sqlite_threads() - before
    assert not left, f"{len(left)} SQLite connection(s) left open by this test"


SANDBOX_IMAGE = os.environ.get("CODECRAFTER_SANDBOX_IMAGE", "codecrafter-sandbox:latest")


@pytest.fixture
def namespace() -> str:
    """A unique prefix for names a test creates on a shared service."""
    return new_namespace()


@pytest.fixture(scope="session", autouse=True)
def _namespaces_deleted() -> Iterator[None]:
    """When the session ends, what every namespace it used left on the shared services is
    deleted (the broker's durable queues and exchanges, Redis keys), so runs do not pile
    them up."""
    yield
    if used():
        with contextlib.suppress(Exception):  # no broker in this run: nothing to delete
            asyncio.run(_delete_broker_names(_amqp_url(), used()))
        with contextlib.suppress(Exception):  # nor Redis
            _delete_redis_keys(_redis_url(), used())


def _delete_redis_keys(url: str, namespaces: frozenset[str]) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    for namespace in namespaces:
        for key in client.scan_iter(match=f"{namespace}*", count=1000):
            client.delete(key)


async def _delete_broker_names(url: str, namespaces: frozenset[str]) -> None:
    from tests.execution.queue_support import delete_amqp_names

    for namespace in namespaces:
        await delete_amqp_names(url, namespace, set())


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A Redis database for tests (db 15 by default)."""
    url = _redis_url()

    def probe() -> None:
        import redis

        redis.Redis.from_url(url, socket_timeout=2).ping()

    need("Redis", probe)
    return url


@pytest.fixture
def redis_clean(redis_url: str, namespace: str) -> str:
    """The Redis URL for a test that keeps its keys under its ``namespace``, where nothing
    of another test can be. Nothing is flushed: a second test run on the same machine
    would lose its keys mid-test. The session deletes its namespaces' keys at its end."""
    return redis_url


def _redis_url() -> str:
    return os.environ.get("CODECRAFTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _amqp_url() -> str:
    return os.environ.get("CODECRAFTER_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


@pytest.fixture(scope="session")
def amqp_url() -> str:
    """A RabbitMQ broker (guest on loopback by default)."""
    url = _amqp_url()

    def probe() -> None:
        import asyncio

        import aio_pika

        async def connect() -> None:
            connection = await aio_pika.connect(url, timeout=5)
            await connection.close()

        asyncio.run(connect())

    need("RabbitMQ", probe)
    return url


@pytest.fixture(scope="session")
def mongo_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real MongoDB from ``CODECRAFTER_TEST_MONGODB_URL``, else the nx-27017 stand-in.

    nx-27017 speaks MongoDB's wire protocol over SQLite. What it may not model: transactions,
    change streams, and TTL expiry timing; tests that depend on those say so.
    """
    url = os.environ.get("CODECRAFTER_TEST_MONGODB_URL")
    if url:
        yield url
        return
    exe = Path(sys.executable).with_name("nx-27017")
    if not exe.exists():
        unavailable("MongoDB", "no CODECRAFTER_TEST_MONGODB_URL and nx-27017 is not installed")
    port = free_port()
    workdir = tmp_path_factory.mktemp("nx27017")
    proc = subprocess.Popen(
        [
            str(exe),
            "--data-dir",
            "memory",
            "--port",
            str(port),
            "--log-file",
            str(workdir / "log"),
            "--pid-file",
            str(workdir / "pid"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"mongodb://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def mongo_url(mongo_server_url: str, namespace: str) -> str:
    """A MongoDB URL naming a database of this test's own."""
    base = mongo_server_url.rstrip("/")
    head, _, query = base.partition("?")
    dbname = "cc_" + namespace.strip(".")
    return f"{head}/{dbname}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def docker_available() -> None:
    need("Docker", docker_probe)


@pytest.fixture(scope="session")
def bwrap_available() -> None:
    """bubblewrap works on this host (a real sandbox that imports ipykernel starts)."""

    def probe() -> None:
        from jupyter_codecrafter.store.records import Limits
        from jupyter_codecrafter.worker.sandbox.bwrap import unavailable_reason

        reason = unavailable_reason(Limits())
        if reason is not None:
            raise RuntimeError(reason)

    need("bubblewrap", probe)


@pytest.fixture(scope="session")
def sandbox_image(docker_available: None) -> str:
    """The sandbox image, built by ``scripts/provision.sh`` (docker import of a debootstrap)."""

    def probe() -> None:
        subprocess.run(
            ["docker", "image", "inspect", SANDBOX_IMAGE],
            check=True,
            capture_output=True,
            timeout=20,
        )

    need(f"Sandbox image {SANDBOX_IMAGE}", probe)
    return SANDBOX_IMAGE


@pytest.fixture(scope="session")
def embedded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """One Jupyter server in embedded mode (SQLite, in-process queue, worker and bus,
    process sandbox open to every account), shared by the tests that only need the API."""
    server = start_server(tmp_path_factory.mktemp("embedded"), {})
    with running(server):
        yield server


@pytest.fixture
async def api(embedded_server: JupyterServer) -> AsyncIterator[Api]:
    """An API client of the shared embedded server."""
    client = Api(embedded_server.api)
    yield client
    await client.aclose()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A Redis only this test uses, so killing its clients or restarting it harms no one."""
    try:
        subprocess.run(["redis-server", "--version"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        unavailable("redis-server", str(exc))
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def private_rabbitmq() -> Iterator[RabbitServer]:
    """A RabbitMQ node only this test uses, so restarting it harms no one."""
    need("rabbitmq-server", lambda: subprocess.run(["rabbitmqctl", "version"], check=True))
    server = RabbitServer()
    try:
        server.start()
        yield server
    finally:
        server.close()
