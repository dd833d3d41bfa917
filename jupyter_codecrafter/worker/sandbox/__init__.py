"""Sandbox backends: Docker containers, bubblewrap, and rlimited processes."""

from __future__ import annotations

from ...store.records import Limits
from .base import KernelSandbox, RunResult, Sandbox
from .choice import SandboxChoice, choose_sandbox


def create_sandbox(
    kind: str,
    *,
    image: str,
    worker_id: str | None = None,
    spares: int = 0,
    limits: Limits | None = None,
) -> Sandbox:
    """``docker`` (hardened containers of ``image``, labelled with ``worker_id``, keeping
    ``spares`` started for snippets with ``limits``), ``bwrap`` (confined processes) or
    ``process`` (rlimited children, unconfined)."""
    if kind == "docker":
        from .docker import DockerSandbox

        return DockerSandbox(image, worker_id=worker_id, spares=spares, spare_limits=limits)
    if kind == "bwrap":
        from .bwrap import BwrapSandbox

        return BwrapSandbox()
    if kind == "process":
        from .process import ProcessSandbox

        return ProcessSandbox()
    raise ValueError(f"Unknown sandbox {kind!r}: use 'docker', 'bwrap' or 'process'.")


__all__ = [
    "KernelSandbox",
    "RunResult",
    "Sandbox",
    "SandboxChoice",
    "choose_sandbox",
    "create_sandbox",
]
