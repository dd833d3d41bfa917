"""The Jupyter Server extension: settings, the URL table, and the services' lifetime."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp

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
