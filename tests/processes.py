"""This host's process table, as the tests that look for leftover processes read it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path


def process_dirs() -> Iterator[tuple[int, Path]]:
    """(pid, ``/proc/<pid>``) of every process of this host."""
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name), Path(entry.path)


def processes_with(argument: str) -> list[int]:
    """Pids whose command line has ``argument`` as one of its words: ``sleep <marker>``."""
    found = []
    for pid, path in process_dirs():
        try:
            words = (path / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # gone meanwhile
        if argument.encode() in words:
            found.append(pid)
    return found
