"""Finding the real services the suites need, or saying clearly why a suite cannot run.

Each fixture in ``conftest.py`` asks :func:`need` for its service. Without the service the
suite is skipped with the reason, unless ``CODECRAFTER_REQUIRE_SERVICES=1`` (CI), which
turns the skip into a failure so no suite silently stops running.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from typing import NoReturn

import pytest

REQUIRE_SERVICES = os.environ.get("CODECRAFTER_REQUIRE_SERVICES", "") not in ("", "0")


def unavailable(service: str, reason: str) -> NoReturn:
    """Skip (or fail, when services are required) because ``service`` cannot be used."""
    message = f"{service} unavailable: {reason}"
    if REQUIRE_SERVICES:
        pytest.fail(f"{message} (CODECRAFTER_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


def need(service: str, probe: Callable[[], None]) -> None:
    """Run ``probe``; any exception means the service is unavailable."""
    try:
        probe()
    except Exception as exc:  # the probe's own error is the clearest reason to print
        unavailable(service, f"{type(exc).__name__}: {exc}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = 20.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout_s}s")


def docker_probe() -> None:
    if shutil.which("docker") is None:
        raise FileNotFoundError("no docker command")
    subprocess.run(["docker", "info"], check=True, capture_output=True, timeout=20)
