"""jupyter-codecrafter: collaborative, sandboxed coding sessions for JupyterLab."""

from __future__ import annotations

from typing import Any

from ._version import __version__


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import CodeCrafter

    return [{"module": "jupyter_codecrafter", "app": CodeCrafter}]


__all__ = ["__version__"]
