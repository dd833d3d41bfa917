"""Scaled deployments on loopback for the operations suites: server instances and
``codecrafter-worker`` processes on RabbitMQ, Redis and the MongoDB stand-in, configured as
containers would be (``CODECRAFTER_*``), with JSON logs. Code runs in the process sandbox:
what is under test is operating the system, not confining code."""

from __future__ import annotations

import secrets
import time

import httpx

from tests.namespaces import new_namespace
from tests.server import JupyterServer


def scaled_env(amqp_url: str, redis_url: str, mongo_server_url: str) -> dict[str, str]:
    """Settings for one deployment of its own (namespace, database, JWT secret)."""
    namespace = new_namespace("ops")
    return {
        "CODECRAFTER_BROKER_URL": amqp_url,
        "CODECRAFTER_REDIS_URL": redis_url,
        "CODECRAFTER_STORE_URL": f"{mongo_server_url.rstrip('/')}/cc_{namespace.rstrip('.')}",
        "CODECRAFTER_NAMESPACE": namespace,
        "CODECRAFTER_JWT_SECRET": secrets.token_urlsafe(48),
        "CODECRAFTER_JSON_LOGS": "1",
        "CODECRAFTER_WORKER_HEARTBEAT_TTL_S": "6",
    }


def wait_ready(url: str, timeout_s: float = 30.0) -> dict[str, object]:
    """Poll a /health until it answers 200; its body."""
    deadline = time.monotonic() + timeout_s
    body: dict[str, object] = {}
    while time.monotonic() < deadline:
        response = httpx.get(url, timeout=5)
        body = response.json()
        if response.status_code == 200:
            return body
        time.sleep(0.2)
    raise TimeoutError(f"{url} not ready after {timeout_s}s: {body}")


def scrape(server: JupyterServer, token: str) -> str:
    """The server's /metrics, as Prometheus reads it (with the Jupyter token)."""
    response = httpx.get(f"{server.url}/metrics", headers={"Authorization": f"token {token}"})
    assert response.status_code == 200, response.text
    return response.text


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus text exposition (None when absent)."""
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        metric, _, rest = head.partition("{")
        found = dict(part.split("=", 1) for part in rest.rstrip("}").split(",") if "=" in part)
        if metric == name and all(found.get(k) == f'"{v}"' for k, v in labels.items()):
            return float(value)
    return None
