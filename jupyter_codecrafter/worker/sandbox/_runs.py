"""What the one-shot runs of both backends share: languages, the output cap, statuses."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...errors import ValidationFailed
from ...store.records import JobStatus


@dataclass(frozen=True, slots=True)
class Language:
    """How to run a program: the file its code goes into and the command that runs it."""

    name: str
    filename: str
    command: tuple[str, ...]  # the program file's path is appended


def pick_language(languages: dict[str, Language], name: str) -> Language:
    try:
        return languages[name]
    except KeyError:
        accepted = ", ".join(sorted(languages))
        raise ValidationFailed(
            f"Unsupported language {name!r}; this sandbox runs: {accepted}.",
            details={"language": name, "accepted": sorted(languages)},
        ) from None


@dataclass(slots=True)
class CappedOutput:
    """stdout and stderr of a run, keeping at most ``limit_bytes`` in total."""

    limit_bytes: int
    stdout: bytearray = field(default_factory=bytearray)
    stderr: bytearray = field(default_factory=bytearray)
    exceeded: bool = False

    def add(self, name: str, chunk: bytes) -> bool:
        """Keep what fits of ``chunk``; False once the cap is exceeded (stop reading)."""
        room = self.limit_bytes - len(self.stdout) - len(self.stderr)
        target = self.stdout if name == "stdout" else self.stderr
        target += chunk[: max(room, 0)]
        if len(chunk) > room:
            self.exceeded = True
        return not self.exceeded

    def text(self, name: str) -> str:
        data = self.stdout if name == "stdout" else self.stderr
        return data.decode("utf-8", errors="replace")


def run_status(
    exit_code: int | None, *, timed_out: bool, output: CappedOutput, oom_killed: bool
) -> JobStatus:
    """The status of a finished run; the limit that stopped it wins over its exit code."""
    if oom_killed:
        return JobStatus.MEMORY_EXCEEDED
    if timed_out:
        return JobStatus.TIMED_OUT
    if output.exceeded:
        return JobStatus.OUTPUT_EXCEEDED
    return JobStatus.SUCCEEDED if exit_code == 0 else JobStatus.FAILED
