"""Service processes of a test's own, which it may stop and restart without harming the
other suites that share this machine's Redis and RabbitMQ."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.services import free_port, wait_for_port


class RedisServer:
    """A redis-server on a free port, nothing saved to disk."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._workdir = workdir
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self._workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(timeout=10)
            self._proc = None


class RabbitServer:
    """A RabbitMQ node of its own (no plugins) on free ports, its data in a directory the
    broker's own user may write (it drops root). ``stop_app``/``start_app`` restart the
    broker inside the node, as ``rabbitmqctl`` does for an operator."""

    def __init__(self) -> None:
        self.port, self._dist_port = free_port(), free_port()
        self.node = f"cctest{self.port}@localhost"
        self.url = f"amqp://guest:guest@127.0.0.1:{self.port}/"
        self._data = Path(tempfile.mkdtemp(prefix="codecrafter-rabbitmq-"))
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout_s: float = 90.0) -> None:
        (self._data / "enabled_plugins").write_text("[].\n")
        if os.geteuid() == 0:
            for path in (self._data, self._data / "enabled_plugins"):
                shutil.chown(path, "rabbitmq", "rabbitmq")
        with (self._data / "launcher.log").open("wb") as log:
            self._proc = subprocess.Popen(
                ["rabbitmq-server"], env=self._env(), stdout=log, stderr=subprocess.STDOUT
            )
        wait_for_port(self.port, timeout_s)

    def stop_app(self) -> None:
        self._ctl("stop_app")

    def start_app(self) -> None:
        self._ctl("start_app")
        wait_for_port(self.port)

    def close(self) -> None:
        """Halt the node and remove its data."""
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._ctl("stop")
        if self._proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._proc.wait(timeout=30)
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
        shutil.rmtree(self._data, ignore_errors=True)

    def _ctl(self, command: str) -> None:
        subprocess.run(
            ["rabbitmqctl", "-n", self.node, command], check=True, capture_output=True, timeout=60
        )

    def _env(self) -> dict[str, str]:
        data = str(self._data)
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self._dist_port),
            "RABBITMQ_MNESIA_BASE": f"{data}/mnesia",
            "RABBITMQ_LOG_BASE": f"{data}/log",
            "RABBITMQ_ENABLED_PLUGINS_FILE": f"{data}/enabled_plugins",
            "RABBITMQ_FEATURE_FLAGS_FILE": f"{data}/feature_flags",
            "RABBITMQ_PLUGINS_EXPAND_DIR": f"{data}/plugins-expand",
            "RABBITMQ_PID_FILE": f"{data}/pid",
            "RABBITMQ_CONFIG_FILE": f"{data}/none",
            "RABBITMQ_ADVANCED_CONFIG_FILE": f"{data}/none-advanced.config",
        }
