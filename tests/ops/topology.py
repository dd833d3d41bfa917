"""The scaled topology of docker-compose.yml as processes on loopback: a real nginx in
front of two server instances, two workers, RabbitMQ, Redis, the MongoDB stand-in, and a
real Prometheus scraping them with monitoring/'s configuration and alert rules."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.ops.conftest import MONITORING, REPO
from tests.server import JupyterServer, Process, WorkerProcess
from tests.services import free_port, wait_for_port

NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; "" close; }}
    upstream codecrafter {{
{servers}
    }}
    server {{
        listen 127.0.0.1:{port};
        include {proxy_conf};
    }}
}}
"""


@dataclass
class Topology:
    nginx_port: int
    servers: list[JupyterServer]
    workers: list[WorkerProcess]
    prometheus_url: str
    jupyter_token: str

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.nginx_port}/api/codecrafter"

    def room_url(self, session_id: str, token: str) -> str:
        return f"ws://127.0.0.1:{self.nginx_port}/api/codecrafter/rooms/{session_id}?token={token}"


def start_nginx(workdir: Path, nginx: str, upstreams: list[int]) -> tuple[Process, int]:
    """nginx with deploy/nginx/proxy.conf (the compose file's rules) before ``upstreams``."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;" for p in upstreams
    )
    conf = NGINX_CONF.format(dir=workdir, servers=servers, port=port,
                             proxy_conf=REPO / "deploy" / "nginx" / "proxy.conf")  # fmt: skip
    (workdir / "nginx.conf").write_text(conf)
    log_path = workdir / "nginx.log"
    with log_path.open("wb") as log:
        command = [nginx, "-c", str(workdir / "nginx.conf"), "-e", str(workdir / "error.log")]
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port)
    return Process(proc=proc, log_path=log_path), port


def prometheus_config(workdir: Path, servers: list[JupyterServer], workers: list[WorkerProcess],
                      token: str) -> Path:  # fmt: skip
    """monitoring/prometheus.yml with loopback targets, this run's paths and 1 s intervals."""
    config: dict[str, Any] = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    shutil.copy(MONITORING / "alerts.yml", workdir / "alerts.yml")
    config["rule_files"] = [str(workdir / "alerts.yml")]
    (workdir / "jupyter_token").write_text(token)
    targets = {
        "codecrafter-servers": [f"127.0.0.1:{s.port}" for s in servers],
        "codecrafter-workers": [f"127.0.0.1:{w.metrics_port}" for w in workers],
    }
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": targets[job["job_name"]]}]
        if "authorization" in job:
            job["authorization"]["credentials_file"] = str(workdir / "jupyter_token")
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def start_prometheus(workdir: Path, binary: str, config: Path) -> tuple[Process, str]:
    port = free_port()
    log_path = workdir / "prometheus.log"
    command = [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
               f"--web.listen-address=127.0.0.1:{port}"]  # fmt: skip
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    wait_for_port(port, timeout_s=30)
    return Process(proc=proc, log_path=log_path), f"http://127.0.0.1:{port}"


def wait_targets_up(prometheus_url: str, expected: int, timeout_s: float = 30.0) -> float:
    """Seconds until Prometheus reports ``expected`` targets up (at most ``timeout_s``)."""
    started = time.monotonic()
    while True:
        targets = httpx.get(f"{prometheus_url}/api/v1/targets").json()["data"]["activeTargets"]
        if sum(t["health"] == "up" for t in targets) >= expected:
            return time.monotonic() - started
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"targets not up after {timeout_s}s: {targets}")
        time.sleep(0.5)


def query(prometheus_url: str, expr: str) -> list[dict[str, Any]]:
    """An instant query through Prometheus's HTTP API; its result (an error fails)."""
    response = httpx.get(f"{prometheus_url}/api/v1/query", params={"query": expr})
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", (expr, body)
    return list(body["data"]["result"])


def shared_token() -> str:
    return secrets.token_hex(16)
