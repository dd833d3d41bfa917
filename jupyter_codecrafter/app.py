"""The Jupyter Server extension: settings, the URL table, and the services' lifetime."""

from __future__ import annotations

from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode, default

from ._version import __version__
from .api import url_table
from .config import CodeCrafterSettings
from .services import Services


class CodeCrafter(ExtensionApp, CodeCrafterSettings):
    """Collaborative, sandboxed coding sessions (``c.CodeCrafter.<setting>``)."""

    name = "jupyter_codecrafter"
    version = __version__
    load_other_extensions = True

    services: Services

    # JupyterApp, a base of ExtensionApp, has a data_dir of its own (not configurable, the
    # Jupyter data dir) that shadows the setting: restate the setting, so the server and
    # codecrafter-admin agree on where the embedded database is.
    data_dir = Unicode(help=CodeCrafterSettings.data_dir.help).tag(config=True)

    @default("data_dir")
    def _default_codecrafter_data_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "codecrafter")

    def initialize_settings(self) -> None:
        self._apply_environment()
        self.services = Services.from_settings(self)
        self.settings["codecrafter"] = self.services

    def initialize_handlers(self) -> None:
        self.handlers.extend(url_table())

    async def _start_jupyter_server_extension(self, serverapp: object) -> None:
        await self.services.start()

    async def stop_extension(self) -> None:
        await self.services.stop()
