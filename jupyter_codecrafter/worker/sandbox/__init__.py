"""Sandbox backends: Docker containers and rlimited processes."""

from __future__ import annotations

from .base import KernelSandbox, RunResult, Sandbox


def create_sandbox(kind: str, *, image: str, worker_id: str | None = None) -> Sandbox:
    """``docker`` (hardened containers of ``image``, labelled with ``worker_id``) or
    ``process`` (rlimited children)."""
    if kind == "docker":
        from .docker import DockerSandbox

        return DockerSandbox(image, worker_id=worker_id)
    if kind == "process":
        from .process import ProcessSandbox

        return ProcessSandbox()
    raise ValueError(f"Unknown sandbox {kind!r}: use 'docker' or 'process'.")


__all__ = ["KernelSandbox", "RunResult", "Sandbox", "create_sandbox"]
