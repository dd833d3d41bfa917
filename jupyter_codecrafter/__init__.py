"""jupyter-codecrafter: collaborative, sandboxed coding sessions for JupyterLab."""

from __future__ import annotations

from typing import Any

from ._version import __version__


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    # Where the built frontend is, for `jupyter labextension develop` (wheels ship it
    # under share/jupyter/labextensions instead).
    return [{"src": "labextension", "dest": "jupyter-codecrafter"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import CodeCrafter

    return [{"module": "jupyter_codecrafter", "app": CodeCrafter}]


__all__ = ["__version__"]
