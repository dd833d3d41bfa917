"""``codecrafter-worker``: a worker process for scaled deployments.

Reads the same settings as the server (``CODECRAFTER_*`` variables, or
``c.CodeCrafterWorker.<name>`` in a config file), consumes jobs from RabbitMQ and runs them
in sandboxes. SIGTERM/SIGINT stop it gracefully: runs in flight finish and are acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from traitlets import Bool, Unicode
from traitlets.config import Application

from .._version import __version__
from ..bus.base import create_bus
from ..config import CodeCrafterSettings
from ..execution.queue._options import QueueOptions
from ..execution.queue.base import create_queue
from ..store.base import create_store
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
        logging.basicConfig(
            level=self.log.getEffectiveLevel(), format="%(asctime)s %(name)s %(message)s"
        )
        asyncio.run(self._main())

    async def _main(self) -> None:
        store = create_store(self.store_url)
        bus = create_bus(self.redis_url or None, namespace=self.namespace)
        queue = create_queue(self.broker_url, QueueOptions.from_settings(self))
        await store.open()
        await bus.start()
        await queue.start()
        worker = create_worker(self, store, queue, bus)
        try:
            await self._serve(worker)
        finally:
            await queue.close()
            await bus.close()
            await store.close()

    async def _serve(self, worker: Worker) -> None:
        if self.burst:
            await worker.run_burst()
            return
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await worker.start()
        await stopping.wait()
        self.log.info("stopping: finishing runs in flight")
        await worker.stop()


main = CodeCrafterWorker.launch_instance
