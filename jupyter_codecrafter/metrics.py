"""Prometheus metrics, all ``codecrafter_*``, in the default registry.

In the server, Jupyter Server's own ``/metrics`` serves them (behind its
``authenticate_prometheus`` setting); each ``codecrafter-worker`` serves its own on its
metrics port (``worker/endpoint.py``). Every label value of a status is created up front
(:func:`prepare`), so dashboards and alerts see zeros before the first event.

Other modules record through the small functions below, never through the metric objects,
so a name or a label changes here only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import Counter, Gauge, Histogram, Info
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

from ._version import __version__
from .store.records import JobStatus

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from .store.records import Job

log = logging.getLogger("jupyter_codecrafter.worker")
NAMESPACE = "codecrafter"
# Latency buckets: API requests are milliseconds, runs and queue waits seconds to minutes.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
RUN_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx")
FINAL_STATUSES = tuple(str(s) for s in JobStatus if s.is_final)
BACKENDS = ("store", "broker", "pubsub")
SIGN_IN_RESULTS = ("succeeded", "failed", "refused")
UPDATE_ORIGINS = ("client", "server", "replica")
RELAY_TARGETS = ("clients", "instances")

BUILD = Info(f"{NAMESPACE}_build", "Version of jupyter-codecrafter in this process.")
API_REQUESTS = Counter(
    f"{NAMESPACE}_api_requests_total",
    "CodeCrafter API requests answered, per route, method and status class.",
    ["route", "method", "status"],
)
API_LATENCY = Histogram(
    f"{NAMESPACE}_api_request_duration_seconds",
    "Time to answer a CodeCrafter API request, per route and method.",
    ["route", "method"],
    buckets=REQUEST_BUCKETS,
)
ROOM_UPDATES_APPLIED = Counter(
    f"{NAMESPACE}_room_updates_applied_total",
    "Document updates applied to loaded rooms, per origin (client, server, replica).",
    ["origin"],
)
ROOM_UPDATES_RELAYED = Counter(
    f"{NAMESPACE}_room_updates_relayed_total",
    "Document updates sent on, to connected clients or to other instances.",
    ["to"],
)
RUNS = Counter(
    f"{NAMESPACE}_runs_total",
    "Runs finished, per language and final status.",
    ["language", "status"],
)
QUEUE_WAIT = Histogram(
    f"{NAMESPACE}_run_queue_wait_seconds",
    "Time a run waited in the queue before a worker started it.",
    ["language"],
    buckets=RUN_BUCKETS,
)
RUN_TIME = Histogram(
    f"{NAMESPACE}_run_duration_seconds",
    "Time from a run's start on a worker to its end.",
    ["language"],
    buckets=RUN_BUCKETS,
)
QUEUE_DEPTH = Gauge(f"{NAMESPACE}_queue_depth", "Runs waiting in the shared queue.")
WARM_POOL = Gauge(f"{NAMESPACE}_warm_pool_size", "Started sandboxes waiting for a kernel.")
SPARES = Gauge(
    f"{NAMESPACE}_spare_containers", "Started containers waiting for a snippet run (Docker)."
)
KERNELS = Gauge(f"{NAMESPACE}_kernels_running", "Session kernels running on this worker.")
WORKERS_LIVE = Gauge(
    f"{NAMESPACE}_workers_live", "Workers with a fresh heartbeat, as this process sees them."
)
SANDBOX_START = Histogram(
    f"{NAMESPACE}_sandbox_start_duration_seconds",
    "Time to start a sandbox (a kernel's), per sandbox kind.",
    ["sandbox"],
    buckets=RUN_BUCKETS,
)
SANDBOX_START_FAILURES = Counter(
    f"{NAMESPACE}_sandbox_start_failures_total",
    "Sandboxes that failed to start, per sandbox kind.",
    ["sandbox"],
)
BACKEND_ERRORS = Counter(
    f"{NAMESPACE}_backend_errors_total",
    "Errors talking to a backend (store, broker, pubsub), seen by requests, runs and checks.",
    ["backend"],
)
RATE_LIMITED = Counter(
    f"{NAMESPACE}_rate_limit_refusals_total",
    "Requests refused by a rate limit, per rule.",
    ["rule"],
)
SIGN_INS = Counter(
    f"{NAMESPACE}_sign_ins_total",
    "Sign-ins with a password: succeeded, failed (wrong login or password), refused (limit).",
    ["result"],
)


def prepare(
    *,
    routes: Iterable[tuple[str, Iterable[str]]] = (),
    languages: Iterable[str] = (),
    sandboxes: Iterable[str] = (),
    rules: Iterable[str] = (),
) -> None:
    """Create every label value up front, so series exist (at 0) before the first event."""
    BUILD.info({"version": __version__})
    for route, methods in routes:
        for method in methods:
            API_LATENCY.labels(route, method)
            for status in STATUS_CLASSES:
                API_REQUESTS.labels(route, method, status)
    _prepare_runs(languages, sandboxes)
    _prepare_labels(BACKEND_ERRORS, BACKENDS)
    _prepare_labels(RATE_LIMITED, rules)
    _prepare_labels(SIGN_INS, SIGN_IN_RESULTS)
    _prepare_labels(ROOM_UPDATES_APPLIED, UPDATE_ORIGINS)
    _prepare_labels(ROOM_UPDATES_RELAYED, RELAY_TARGETS)


def _prepare_runs(languages: Iterable[str], sandboxes: Iterable[str]) -> None:
    for language in languages:
        QUEUE_WAIT.labels(language)
        RUN_TIME.labels(language)
        for status in FINAL_STATUSES:
            RUNS.labels(language, status)
    for sandbox in sandboxes:
        SANDBOX_START.labels(sandbox)
        SANDBOX_START_FAILURES.labels(sandbox)


def _prepare_labels(metric: Counter, values: Iterable[str]) -> None:
    for value in values:
        metric.labels(value)


# Recording, for the rest of the package.


def api_request(route: str, method: str, status: int, seconds: float) -> None:
    API_REQUESTS.labels(route, method, f"{status // 100}xx").inc()
    API_LATENCY.labels(route, method).observe(seconds)


def run_finished(
    language: str, status: str, queue_wait_s: float | None, run_s: float | None
) -> None:
    """A run ended (on the worker that ran it)."""
    RUNS.labels(language, status).inc()
    if queue_wait_s is not None:
        QUEUE_WAIT.labels(language).observe(max(queue_wait_s, 0.0))
    if run_s is not None:
        RUN_TIME.labels(language).observe(max(run_s, 0.0))


def job_finished(job: Job) -> None:
    """:func:`run_finished` from a finished job's own timestamps; one info line (never the
    code) on the worker that ran it."""
    log.info("job %s (%s, %s) %s", job.id, job.kind, job.language, job.status)
    started, finished = job.started_at, job.finished_at
    wait = (started - job.queued_at).total_seconds() if started else None
    run = (finished - started).total_seconds() if started and finished else None
    run_finished(job.language, str(job.status), wait, run)


def sandbox_started(kind: str, seconds: float) -> None:
    SANDBOX_START.labels(kind).observe(seconds)


def sandbox_start_failed(kind: str) -> None:
    SANDBOX_START_FAILURES.labels(kind).inc()


def warm_pool_size(n: int) -> None:
    WARM_POOL.set(n)


def spare_containers(n: int) -> None:
    SPARES.set(n)


def kernels_running(n: int) -> None:
    KERNELS.set(n)


def queue_depth(n: int) -> None:
    QUEUE_DEPTH.set(n)


def workers_live(n: int) -> None:
    WORKERS_LIVE.set(n)


def backend_error(backend: str) -> None:
    """One failed call to ``store``, ``broker`` or ``pubsub``."""
    BACKEND_ERRORS.labels(backend).inc()


def rate_limited(rule: str) -> None:
    RATE_LIMITED.labels(rule).inc()


def sign_in(result: str) -> None:
    """``succeeded``, ``failed`` or ``refused``."""
    SIGN_INS.labels(result).inc()


# A room's update origins (rooms.room._Source values; None: the server's own edit).
_ORIGINS = {"client": "client", None: "server", "external": "replica"}


def room_update(source: str | None, *, clients: int) -> None:
    """A room applied an update from ``source`` and relayed it to ``clients`` sockets, and
    to the other instances unless it came from one (``external``)."""
    origin = _ORIGINS.get(source, "server")
    ROOM_UPDATES_APPLIED.labels(origin).inc()
    ROOM_UPDATES_RELAYED.labels("clients").inc(clients)
    if origin != "replica":
        ROOM_UPDATES_RELAYED.labels("instances").inc()


@dataclass(frozen=True, slots=True)
class RoomsSnapshot:
    loaded: int
    connections: int
    users: int  # distinct users connected
    document_bytes: int


class RoomCollector(Collector):
    """Room gauges read at scrape time from the room manager (see ``services.py``)."""

    def __init__(self, snapshot: Callable[[], RoomsSnapshot]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        now = self._snapshot()
        yield _gauge("rooms_loaded", "Rooms loaded on this instance.", now.loaded)
        yield _gauge("websocket_connections", "Room WebSocket connections.", now.connections)
        yield _gauge("room_users", "Distinct users connected to rooms here.", now.users)
        yield _gauge("room_documents_bytes", "Size of the loaded documents.", now.document_bytes)

    def describe(self) -> Iterator[Metric]:
        return iter(())


def _gauge(name: str, help_text: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{NAMESPACE}_{name}", help_text, value=value)


_room_collector: list[RoomCollector] = []


def watch_rooms(snapshot: Callable[[], RoomsSnapshot]) -> None:
    """Serve the room gauges of this process from ``snapshot`` (the latest call wins)."""
    for old in _room_collector:
        REGISTRY.unregister(old)
    _room_collector[:] = [RoomCollector(snapshot)]
    REGISTRY.register(_room_collector[0])
