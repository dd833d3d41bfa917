"""The limits a run gets: the settings' defaults, changed per language by the operator, then
lowered (never raised) by the request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, fields, replace
from typing import Any

from ..errors import ValidationFailed
from ..store.records import Limits

NAMES = frozenset(field.name for field in fields(Limits))


def check_language_limits(language_limits: dict[str, dict[str, Any]]) -> None:
    """Refuse a setting that names a limit that does not exist (at start-up, not per run)."""
    for language, changes in language_limits.items():
        unknown = set(changes) - NAMES
        if unknown:
            raise ValueError(f"language_limits[{language!r}]: no such limits {sorted(unknown)}")


class LimitPolicy:
    def __init__(self, defaults: Limits, language_limits: dict[str, dict[str, Any]]) -> None:
        check_language_limits(language_limits)
        self._defaults = defaults
        self._by_language = language_limits

    def ceiling(self, language: str) -> Limits:
        """The most a run in ``language`` may use."""
        return replace(self._defaults, **self._by_language.get(language, {}))

    def for_run(self, language: str, requested: Mapping[str, Any] | None) -> Limits:
        """The ceiling, lowered where the request asks; asking for more is a 422."""
        ceiling = self.ceiling(language)
        requested = dict(requested or {})
        above = {
            name: asdict(ceiling)[name]
            for name, value in requested.items()
            if value > asdict(ceiling)[name]
        }
        if above:
            raise ValidationFailed(
                "A run's limits may only be lowered.",
                details=[{"field": f"limits.{name}", "max": cap} for name, cap in above.items()],
            )
        return replace(ceiling, **requested)
