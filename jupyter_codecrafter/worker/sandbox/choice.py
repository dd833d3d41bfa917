"""Which sandbox backend a worker uses, and why: the ``sandbox`` setting, resolved.

``auto`` takes the strongest backend this host can run: Docker when the daemon answers and
the sandbox image is there, else bubblewrap when it can start a sandbox here, else the
unconfined process backend. The reason is kept so the start-up log (and the error a refused
run gets) can say what to install.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ...store.records import Limits

log = logging.getLogger("jupyter_codecrafter.worker")

HOW_TO_CONFINE = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap), or Docker with the "
    "sandbox image (scripts/build-sandbox-image.sh)"
)


@dataclass(frozen=True, slots=True)
class SandboxChoice:
    kind: str  # docker | bwrap | process
    reason: str

    @property
    def confined(self) -> bool:
        return self.kind != "process"

    def log(self) -> None:
        """Say at start-up what runs code and why; loudly when it is not confined."""
        if not self.confined:
            log.warning(
                "Sandbox: process (UNCONFINED: code can read this server's files and secrets; "
                "only admins may run code unless dangerously_allow_unconfined_runs). %s. "
                "To confine runs, %s.",
                self.reason,
                HOW_TO_CONFINE,
            )
        elif self.kind == "bwrap":
            log.warning(
                "Sandbox: bwrap (confined, without Docker's memory cgroup). %s.", self.reason
            )
        else:
            log.info("Sandbox: docker. %s.", self.reason)


def choose_sandbox(setting: str, *, image: str, limits: Limits) -> SandboxChoice:
    """Resolve the ``sandbox`` setting (``auto`` probes this host)."""
    if setting != "auto":
        return SandboxChoice(setting, f"sandbox = {setting!r} is configured")
    docker_problem = docker_unavailable_reason(image)
    if docker_problem is None:
        return SandboxChoice("docker", f"auto: the Docker daemon answers and {image} exists")
    from .bwrap import unavailable_reason

    bwrap_problem = unavailable_reason(limits)
    if bwrap_problem is None:
        return SandboxChoice("bwrap", f"auto: no Docker ({docker_problem}); bubblewrap works")
    return SandboxChoice(
        "process", f"auto: no Docker ({docker_problem}); no bwrap ({bwrap_problem})"
    )


def docker_unavailable_reason(image: str) -> str | None:
    """Why Docker sandboxes cannot start here, or None when they can."""
    try:
        import docker
    except ImportError:
        return "the docker package is not installed: pip install 'jupyter-codecrafter[docker]'"
    try:
        client = docker.from_env(timeout=5)
        try:
            client.ping()
            client.images.get(image)
        finally:
            client.close()
    except docker.errors.ImageNotFound:
        return f"the image {image} is missing: build it with scripts/build-sandbox-image.sh"
    except Exception as exc:  # any failure to reach the daemon means: no Docker here
        return f"the daemon does not answer: {type(exc).__name__}"
    return None
