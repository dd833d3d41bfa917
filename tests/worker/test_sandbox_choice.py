"""What ``sandbox = auto`` picks on this host, and what it says at start-up.

"Without Docker" points the Docker client at a socket where nothing listens (or asks for an
image that does not exist); "without bwrap" leaves bwrap off PATH. Both are what a host
lacking them looks like to the probes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from jupyter_codecrafter.config import CodeCrafterSettings
from jupyter_codecrafter.store.records import Limits
from jupyter_codecrafter.worker.sandbox.choice import choose_sandbox

LOGGER = "jupyter_codecrafter.worker"


@pytest.fixture
def no_docker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-docker.sock")


@pytest.fixture
def no_bwrap(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))


def choose_and_log(image: str, caplog: pytest.LogCaptureFixture) -> tuple[str, str]:
    """The backend auto picks, and the message it logs (at the level it logs it)."""
    with caplog.at_level(logging.INFO, logger=LOGGER):
        choice = choose_sandbox("auto", image=image, limits=Limits())
        choice.log()
    [record] = [r for r in caplog.records if r.name == LOGGER]
    return choice.kind, f"{record.levelname} {record.getMessage()}"


def test_auto_picks_docker_when_the_daemon_and_image_are_there(
    sandbox_image: str, caplog: pytest.LogCaptureFixture
) -> None:
    """With a Docker daemon and the sandbox image, auto runs code in Docker."""
    kind, message = choose_and_log(sandbox_image, caplog)
    assert kind == "docker"
    assert message.startswith("INFO Sandbox: docker") and sandbox_image in message


def test_auto_picks_bwrap_without_docker(
    no_docker: None, bwrap_available: None, caplog: pytest.LogCaptureFixture
) -> None:
    """Without Docker but with bubblewrap, auto confines code with bwrap and says why."""
    kind, message = choose_and_log("codecrafter-sandbox:latest", caplog)
    assert kind == "bwrap"
    assert message.startswith("WARNING Sandbox: bwrap")
    assert "no Docker (the daemon does not answer" in message


def test_auto_picks_bwrap_when_the_image_is_missing(
    docker_available: None, bwrap_available: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A Docker daemon without the sandbox image is no Docker: the log says how to build it."""
    kind, message = choose_and_log("codecrafter-no-such-image:never", caplog)
    assert kind == "bwrap"
    assert "build it with scripts/build-sandbox-image.sh" in message


def test_auto_falls_back_to_unconfined_with_neither(
    no_docker: None, no_bwrap: None, caplog: pytest.LogCaptureFixture
) -> None:
    """With neither, auto runs code unconfined and warns loudly how to fix it."""
    kind, message = choose_and_log("codecrafter-sandbox:latest", caplog)
    assert kind == "process"
    assert message.startswith("WARNING Sandbox: process (UNCONFINED")
    assert "bubblewrap is not installed" in message
    assert "apt-get install bubblewrap" in message


def test_a_configured_backend_is_taken_as_is(no_docker: None) -> None:
    """An explicit setting is not second-guessed (a missing Docker fails when first used)."""
    choice = choose_sandbox("docker", image="any", limits=Limits())
    assert (choice.kind, choice.confined) == ("docker", True)
    assert choose_sandbox("process", image="any", limits=Limits()).confined is False


def test_sandbox_defaults_to_auto_and_unconfined_runs_to_off() -> None:
    """Out of the box nothing is trusted to run unconfined but admins and Jupyter's users."""
    settings = CodeCrafterSettings()
    assert settings.sandbox == "auto"
    assert settings.dangerously_allow_unconfined_runs is False
