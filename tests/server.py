"""Real Jupyter servers (and workers) in subprocesses, as a user would start them.

Each server gets its own config, data and runtime directories, and is configured only
through ``CODECRAFTER_*`` environment variables, the way a container would be.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.services import free_port

CHECKOUT = Path(__file__).resolve().parents[1]

# Cheap argon2 parameters keep registration fast in tests; the algorithm is the same.
FAST_PASSWORD_HASHING = {
    "CODECRAFTER_PASSWORD_TIME_COST": "1",
    "CODECRAFTER_PASSWORD_MEMORY_KIB": "8192",
}

# Test suites register many accounts from one address; the defaults (10 registrations a
# minute per IP) would refuse them. Rate-limit tests start servers with their own limits.
GENEROUS_RATE_LIMITS = {
    f"CODECRAFTER_RATE_LIMIT_{rule}": "1000000/minute"
    for rule in ("LOGIN", "REGISTER", "UNAUTHENTICATED", "AUTHENTICATED", "EXECUTE")
}


# Suites about the API, rooms and sessions run code without caring where: the unconfined
# process backend, opened to every account, works on any machine. The suites about
# confinement (tests/security) start servers with each real backend instead.
UNCONFINED_FOR_TESTS = {
    "CODECRAFTER_SANDBOX": "process",
    "CODECRAFTER_DANGEROUSLY_ALLOW_UNCONFINED_RUNS": "1",
}


# Processes still running, so a failing test's report can show their logs (conftest.py).
LIVE: list[Process] = []


@dataclass
class Process:
    """A child process whose output goes to a log file shown when something fails."""

    proc: subprocess.Popen[bytes]
    log_path: Path

    def __post_init__(self) -> None:
        LIVE.append(self)

    def log_tail(self, lines: int = 80) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout_s: float = 20.0) -> int:
        """SIGTERM (graceful), then SIGKILL if it does not exit in time; the exit code."""
        if self in LIVE:
            LIVE.remove(self)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: the process dies without any chance to clean up."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@dataclass
class JupyterServer(Process):
    port: int = 0
    root: Path = field(default_factory=Path)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return f"{self.url}/api/codecrafter"

    def room_url(self, session_id: str, token: str) -> str:
        return f"ws://127.0.0.1:{self.port}/api/codecrafter/rooms/{session_id}?token={token}"


def base_env(workdir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CODECRAFTER_")}
    env.update(FAST_PASSWORD_HASHING)
    env.update(GENEROUS_RATE_LIMITS)
    env.update(UNCONFINED_FOR_TESTS)
    env.update(
        JUPYTER_CONFIG_DIR=str(workdir / "config"),
        JUPYTER_DATA_DIR=str(workdir / "data"),
        JUPYTER_RUNTIME_DIR=str(workdir / "runtime"),
        CODECRAFTER_DATA_DIR=str(workdir / "codecrafter"),
        PYTHONUNBUFFERED="1",
        # The package of this checkout, not whichever one the venv installed (a worktree).
        PYTHONPATH=os.pathsep.join(filter(None, [str(CHECKOUT), os.environ.get("PYTHONPATH")])),
    )
    env.update(extra)
    return env


def start_server(
    workdir: Path,
    env: Mapping[str, str],
    *,
    timeout_s: float = 60.0,
    args: Sequence[str] = (),
    wait: bool = True,
) -> JupyterServer:
    """Start ``jupyter server`` with the extension and wait until its health check answers
    (``wait``); ``args`` are added to (and override) the command line."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    root = workdir / "root"
    root.mkdir(exist_ok=True)
    log_path = workdir / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyter_server",
        f"--port={port}",
        "--ip=127.0.0.1",
        "--no-browser",
        "--allow-root",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={secrets.token_hex(16)}",
        "--ServerApp.port_retries=0",
    ]
    given = {arg.split("=", 1)[0] for arg in args}
    cmd = [arg for arg in cmd if arg.split("=", 1)[0] not in given] + list(args)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            cmd, env=base_env(workdir, env), stdout=log, stderr=subprocess.STDOUT
        )
    server = JupyterServer(proc=proc, log_path=log_path, port=port, root=root)
    if wait:
        _wait_healthy(server, timeout_s)
    return server


@dataclass
class WorkerProcess(Process):
    metrics_port: int = 0  # its /metrics and /health

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}"

    def worker_id(self, timeout_s: float = 30.0) -> str:
        """The id the worker logged once it started consuming (waits for it)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = re.search(r"worker (\S+) consuming", self.log_path.read_text())
            if found:
                return found.group(1)
            time.sleep(0.1)
        raise AssertionError(f"the worker never started consuming:\n{self.log_tail()}")


def start_worker(workdir: Path, env: Mapping[str, str], *args: str) -> WorkerProcess:
    """Start ``codecrafter-worker`` (a separate process, as in a scaled deployment), with
    its metrics port on a free port of its own."""
    workdir.mkdir(parents=True, exist_ok=True)
    log_path = workdir / "worker.log"
    exe = Path(sys.executable).with_name("codecrafter-worker")
    env = {"CODECRAFTER_WORKER_METRICS_PORT": str(free_port()), **env}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(exe), "--log-level=INFO", *args],
            env=base_env(workdir, env),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    port = int(env["CODECRAFTER_WORKER_METRICS_PORT"])
    return WorkerProcess(proc=proc, log_path=log_path, metrics_port=port)


def _wait_healthy(server: JupyterServer, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"the server exited ({server.proc.returncode}):\n{server.log_tail()}"
            )
        with contextlib.suppress(httpx.HTTPError, ValueError):
            if serving(httpx.get(f"{server.api}/health", timeout=2)):
                return
        time.sleep(0.1)
    server.stop()
    raise TimeoutError(f"the server was not healthy after {timeout_s}s:\n{server.log_tail()}")


def serving(health: httpx.Response) -> bool:
    """Whether a health answer shows a server that takes requests: ready, or waiting only
    for a worker (workers of a scaled deployment are often started after the servers)."""
    if health.status_code == 200:
        return True
    checks = health.json().get("checks", {}) if health.status_code == 503 else {}
    others = [check for name, check in checks.items() if name != "workers"]
    return bool(others) and all(check["status"] == "ok" for check in others)


@contextlib.contextmanager
def running(*processes: Process) -> Iterator[None]:
    """Stop the processes at the end (a failing test's report shows their logs)."""
    try:
        yield
    finally:
        for process in processes:
            process.stop()
