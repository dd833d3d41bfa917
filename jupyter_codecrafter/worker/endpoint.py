"""A worker's own HTTP port: ``/metrics`` for Prometheus and ``/health`` for orchestrators.

``/health`` answers like the server's: the store, the broker and pub/sub with their
latencies, and ``workers`` (this one, while it consumes); 200 when ready, 503 otherwise.
Nothing here needs auth: it serves numbers, never data. Bind it to an address only the
monitoring can reach (``worker_metrics_ip``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tornado import httpserver, web

from .. import metrics
from ..errors import CodeCrafterError
from ..health import Check, Readiness

ReadinessSource = Callable[[], Awaitable[Readiness]]


class MetricsHandler(web.RequestHandler):
    def get(self) -> None:
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.finish(generate_latest())


class HealthHandler(web.RequestHandler):
    def initialize(self, readiness: ReadinessSource) -> None:
        self._readiness = readiness

    async def get(self) -> None:
        readiness = await self._readiness()
        self.set_status(200 if readiness.ready else 503)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(readiness.as_dict()))


def serve(port: int, address: str, readiness: ReadinessSource) -> httpserver.HTTPServer:
    """Start listening (in the running event loop); ``stop()`` the result to close."""
    app = web.Application(
        [(r"/metrics", MetricsHandler), (r"/health", HealthHandler, {"readiness": readiness})]
    )
    server = httpserver.HTTPServer(app)
    server.listen(port, address)
    return server


async def sample_forever(
    pending: Callable[[], Awaitable[int]], kernels: Callable[[], int], interval_s: float = 5.0
) -> None:
    """The worker's gauges that need a call: queue depth and kernels running."""
    while True:
        with contextlib.suppress(CodeCrafterError, TimeoutError, OSError):
            metrics.queue_depth(await pending())
        metrics.kernels_running(kernels())
        await asyncio.sleep(interval_s)


def this_worker(consuming: bool) -> Check:
    """The ``workers`` check of a worker's own health: itself."""
    error = None if consuming else "Not consuming jobs (starting or stopping)."
    return Check(consuming, 0.0, error=error, live=int(consuming))
