"""The snippet languages on offer, as the workers announce them: id, display name, runtime
version (asked of the sandbox once) and whether the language can back a notebook's kernel.

Workers publish their table in the bus, renewed with their heartbeat; servers read it. Until
a worker has announced itself, a server lists the languages it was configured with, without
versions.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass

from ..bus.base import Bus
from ..constants import LANGUAGES_KEY
from ..errors import MalformedMessage

log = logging.getLogger("jupyter_codecrafter.execution")


@dataclass(frozen=True, slots=True)
class LanguageInfo:
    id: str
    display_name: str
    version: str | None
    notebook: bool


async def announce(bus: Bus, table: list[LanguageInfo], *, ttl_s: float) -> None:
    await bus.set(LANGUAGES_KEY, json.dumps([asdict(row) for row in table]).encode(), ttl_s=ttl_s)


async def announced(bus: Bus, configured: tuple[str, ...]) -> list[LanguageInfo]:
    """The workers' table, or the configured languages while none has announced one."""
    data = await bus.get(LANGUAGES_KEY)
    if data is None:
        return [LanguageInfo(name, name, None, name == "python") for name in configured]
    try:
        return [LanguageInfo(**row) for row in json.loads(data)]
    except (ValueError, TypeError) as exc:
        raise MalformedMessage("Malformed language table.") from exc
