"""The embedded install (no extras) imports: only the scaled backends need their clients."""

from __future__ import annotations

import json
import subprocess
import sys

# Modules that may need an extra (mongo, amqp, redis, docker); nothing else may.
NEEDS_AN_EXTRA = {
    "jupyter_codecrafter.bus.redis",
    "jupyter_codecrafter.execution.queue._amqp_events",
    "jupyter_codecrafter.execution.queue._amqp_topology",
    "jupyter_codecrafter.execution.queue.amqp",
    "jupyter_codecrafter.store.mongo",
    "jupyter_codecrafter.worker.sandbox.docker",
    "jupyter_codecrafter.worker.sandbox.docker_common",
    "jupyter_codecrafter.worker.sandbox.docker_spares",
}

# In a fresh interpreter, as if the extras' client libraries were not installed.
PROBE = """
import importlib, json, pkgutil, sys
for name in ("aio_pika", "aiormq", "redis", "pymongo", "docker"):
    sys.modules[name] = None
import jupyter_codecrafter
failed = []
for info in pkgutil.walk_packages(jupyter_codecrafter.__path__, "jupyter_codecrafter."):
    try:
        importlib.import_module(info.name)
    except ImportError:
        failed.append(info.name)
print(json.dumps(failed))
"""


def test_only_the_scaled_backends_need_the_extras() -> None:
    """Without aio-pika, redis, pymongo and docker every module imports except the
    backends built on them (an embedded server or Binder would fail to load otherwise)."""
    probe = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=120
    )
    assert set(json.loads(probe.stdout)) == NEEDS_AN_EXTRA
