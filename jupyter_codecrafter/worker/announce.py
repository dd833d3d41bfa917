"""What a worker tells the servers about itself beside its heartbeat: its languages."""

from __future__ import annotations

from ..bus.base import Bus
from ..execution.languages import LanguageInfo, announce
from .sandbox.base import Sandbox


async def announce_languages(bus: Bus, sandbox: Sandbox, *, ttl_s: float) -> None:
    """Publish this worker's language table (versions are asked of the sandbox once)."""
    versions = await sandbox.versions()
    table = [
        LanguageInfo(lang.id, lang.display_name, versions.get(lang.id) or None, lang.notebook)
        for lang in sandbox.language_table.values()
    ]
    await announce(bus, table, ttl_s=ttl_s)
