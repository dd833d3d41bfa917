"""``codecrafter-worker``: a worker process for scaled deployments.

Reads the same settings as the server (``CODECRAFTER_*`` variables, or
``c.CodeCrafterWorker.<name>`` in a config file), consumes jobs from RabbitMQ and runs them
in sandboxes. SIGTERM/SIGINT stop it gracefully: runs in flight finish and are acknowledged.
Backends that do not answer yet are retried (``backend_connect_timeout_s``), then it exits
non-zero. ``/metrics`` and ``/health`` are served on ``worker_metrics_port``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from typing import cast

from tornado.httpserver import HTTPServer
from traitlets import Bool, Unicode
from traitlets.config import Application

from .. import metrics
from .._version import __version__
from ..bus.base import Bus, create_bus
from ..config import CodeCrafterSettings
from ..execution.queue._options import QueueOptions
from ..execution.queue.base import JobQueue, create_queue
from ..health import Readiness, WorkerBeacon, probe
from ..lifecycle import StartupFailed, connect_with_retries, freeze_startup_objects
from ..logs import configure_package_logging
from ..store.base import Store, create_store
from .endpoint import sample_forever, serve, this_worker
from .worker import Worker, create_worker


class CodeCrafterWorker(Application, CodeCrafterSettings):
    name = "codecrafter-worker"
    version = __version__
    description = __doc__

    burst = Bool(False, help="Run the jobs waiting in the queue, then exit.").tag(config=True)
    config_file = Unicode("", help="A Python config file to load.").tag(config=True)

    flags = {"burst": ({"CodeCrafterWorker": {"burst": True}}, "Exit when the queue is empty.")}
    aliases = {"config": "CodeCrafterWorker.config_file", "log-level": "Application.log_level"}

    def start(self) -> None:
        if self.config_file:
            self.load_config_file(self.config_file)
        self._apply_environment()
        # The application's logger is at DEBUG (its handler filters); the root takes the
        # configured level, so libraries' debug lines (queries, frames) stay out.
        logging.basicConfig(
            level=cast(int, self.log_level), format="%(asctime)s %(name)s %(message)s"
        )
        configure_package_logging(logging.getLogger(), json_lines=self.json_logs)
        try:
            asyncio.run(self._main())
        except StartupFailed as exc:
            logging.getLogger("jupyter_codecrafter").critical("Cannot start: %s", exc.message)
            raise

    async def _main(self) -> None:
        store = create_store(self.store_url)
        bus = create_bus(self.redis_url or None, namespace=self.namespace)
        queue = create_queue(self.broker_url, QueueOptions.from_settings(self))
        try:
            await self._connect(store, bus, queue)
            worker = create_worker(self, store, queue, bus)
            metrics.prepare(languages=worker.languages, sandboxes=[worker.sandbox_name])
            await self._serve(worker, Probes(store, queue, bus))
        finally:  # also after a failed start: an open store's thread would keep us alive
            for close in (queue.close, bus.close, store.close):
                with contextlib.suppress(Exception):
                    await close()

    async def _connect(self, store: Store, bus: Bus, queue: JobQueue) -> None:
        timeout_s = self.backend_connect_timeout_s
        await connect_with_retries("store", store.open, timeout_s=timeout_s)
        await connect_with_retries("Redis (redis_url)", bus.start, timeout_s=timeout_s)
        await connect_with_retries("broker (broker_url)", queue.start, timeout_s=timeout_s)

    async def _serve(self, worker: Worker, probes: Probes) -> None:
        if self.burst:
            await worker.run_burst()
            return
        stopping = _stop_on_signals()
        endpoint = self._listen(probes)
        beacon = WorkerBeacon(probes.bus, worker.id, self.worker_heartbeat_ttl_s)
        await worker.start()
        await beacon.start()
        freeze_startup_objects()
        probes.consuming = True
        sampler = asyncio.create_task(sample_forever(probes.queue.pending, worker.kernels.__len__))
        await stopping.wait()
        self.log.info("stopping: finishing runs in flight")
        probes.consuming = False
        sampler.cancel()
        await beacon.stop()
        await worker.stop()
        if endpoint is not None:
            endpoint.stop()

    def _listen(self, probes: Probes) -> HTTPServer | None:
        if not self.worker_metrics_port:
            return None
        try:
            server = serve(self.worker_metrics_port, self.worker_metrics_ip, probes.readiness)
        except OSError as exc:  # metrics are not worth a worker that does not run
            self.log.error(
                "No metrics port: %s:%d: %s", self.worker_metrics_ip, self.worker_metrics_port, exc
            )
            return None
        self.log.info(
            "metrics and health on %s:%d", self.worker_metrics_ip, self.worker_metrics_port
        )
        return server


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGTERM or SIGINT."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    return stopping


class Probes:
    """What the worker's /health reports: its backends, and itself while it consumes."""

    def __init__(self, store: Store, queue: JobQueue, bus: Bus) -> None:
        self.store, self.queue, self.bus = store, queue, bus
        self.consuming = False

    async def readiness(self) -> Readiness:
        store, broker, pubsub = await asyncio.gather(
            probe("store", self.store.ping),
            probe("broker", self.queue.ping),
            probe("pubsub", self.bus.ping),
        )
        checks = {"store": store, "broker": broker, "pubsub": pubsub}
        checks["workers"] = this_worker(self.consuming)
        return Readiness(checks)


main = CodeCrafterWorker.launch_instance
