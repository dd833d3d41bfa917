"""The Jupyter Server extension: settings, the URL table, and the services' lifetime."""

from __future__ import annotations

import os
from pathlib import Path

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode, default

from ._version import __version__
from .api import url_table
from .config import CodeCrafterSettings
from .demo import seed_workspace
from .lifecycle import StartupFailed, freeze_startup_objects
from .logs import configure_package_logging, use_json
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
        configure_package_logging(self.log, json_lines=self.json_logs)
        if self.json_logs and self.serverapp is not None:
            use_json([self.serverapp.log])  # Jupyter's own lines (and tornado's) too
        self.services = Services.from_settings(self)
        self.settings["codecrafter"] = self.services

    def initialize_handlers(self) -> None:
        self.handlers.extend(url_table())

    async def _start_jupyter_server_extension(self, serverapp: object) -> None:
        try:
            await self.services.start()
            self._open_welcome_session()
            freeze_startup_objects()
        except StartupFailed as exc:
            # Jupyter logs an extension's failure to start and serves on without it; a
            # server without its backends must not look alive to an orchestrator. Nothing
            # has started yet, so there is nothing to stop gracefully.
            self.log.critical("CodeCrafter cannot start: %s", exc.message)
            for handler in self.log.handlers:
                handler.flush()
            os._exit(exc.code if isinstance(exc.code, int) else 1)

    def _open_welcome_session(self) -> None:
        """Demo servers: JupyterLab's first layout opens the welcome session."""
        demo = self.services.demo
        workspaces = self._lab_workspaces_dir()
        if demo is not None and demo.welcome is not None and workspaces is not None:
            seed_workspace(workspaces, demo.welcome)

    def _lab_workspaces_dir(self) -> Path | None:
        manager = getattr(self.serverapp, "extension_manager", None)
        apps = (
            [app for group in manager.extension_apps.values() for app in group] if manager else []
        )
        found = [app.workspaces_dir for app in apps if getattr(app, "workspaces_dir", "")]
        return Path(found[0]) if found else None

    async def stop_extension(self) -> None:
        await self.services.stop()
