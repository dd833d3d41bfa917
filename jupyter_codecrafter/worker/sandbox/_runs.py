"""What the one-shot runs of every backend share: the output cap, statuses, compile steps."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from ...store.records import JobStatus, Limits
from .base import RunResult


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


def run_cpu_s(limits: Limits) -> int:
    """The CPU-time rlimit of a one-shot run, in whole seconds (at least one)."""
    return max(1, math.ceil(limits.cpu_time_s))


def compile_limits(limits: Limits) -> Limits:
    """A compile step's limits: its own time limit; compilers get at least 512 MiB."""
    return replace(
        limits,
        timeout_s=limits.compile_timeout_s,
        cpu_time_s=limits.compile_timeout_s,
        memory_mb=max(limits.memory_mb, 512),
    )


def compile_failure(result: RunResult, limits: Limits) -> RunResult:
    """A failed compile step as the run's result: ``compile_error`` with the messages."""
    messages = (result.stdout + result.stderr).rstrip()
    if result.status is JobStatus.TIMED_OUT:
        messages += f"\nThe compiler ran out of time ({limits.compile_timeout_s:g} s)."
    return RunResult(
        JobStatus.COMPILE_ERROR, result.exit_code, "", messages + "\n", result.duration_s
    )
