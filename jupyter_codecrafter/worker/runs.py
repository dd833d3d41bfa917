"""Running one job: a cell in its session's kernel, or a snippet in a fresh sandbox.

Each returns a :class:`RunOutcome`: the final status and what to save with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..store.records import Job, JobStatus, Limits
from ..utils import utcnow
from .kernels import KernelPool
from .sandbox.base import Sandbox

OnOutput = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    status: JobStatus  # final
    outputs: list[dict[str, Any]] = field(default_factory=list)
    execution_count: int | None = None
    error: str | None = None
    finished_at: datetime = field(default_factory=utcnow)

    def fields(self) -> dict[str, Any]:
        """What the store saves beside the status."""
        return {
            "outputs": self.outputs,
            "execution_count": self.execution_count,
            "error": self.error,
            "finished_at": self.finished_at,
        }


async def run_cell(pool: KernelPool, job: Job, on_output: OnOutput) -> RunOutcome:
    assert job.session_id is not None, "a cell job always belongs to a session"
    outcome = await pool.execute(
        job.session_id,
        job.limits,
        job.code,
        on_output=on_output,
        tag=job.id,
        user_id=job.user_id,
        cell_id=job.cell_id,
    )
    outputs = list(outcome.outputs)
    reason = limit_reason(outcome.status, job.limits)
    if reason is not None:  # a readable end, not a silent stop, for every collaborator
        marker = limit_error(reason)
        await on_output(marker)
        outputs.append(marker)
    return RunOutcome(outcome.status, outputs, outcome.execution_count, outcome.error)


async def run_snippet(sandbox: Sandbox, job: Job, on_output: OnOutput) -> RunOutcome:
    result = await sandbox.run(job.language, job.code, job.stdin, job.limits)
    stderr = result.stderr
    reason = limit_reason(result.status, job.limits)
    if reason is not None:  # what it printed before is kept; this says why it stopped
        separator = "\n" if stderr and not stderr.endswith("\n") else ""
        stderr += f"{separator}[{reason}]\n"
    outputs = [
        {"output_type": "stream", "name": name, "text": text}
        for name, text in (("stdout", result.stdout), ("stderr", stderr))
        if text
    ]
    for output in outputs:
        await on_output(output)
    error = None
    if result.status is not JobStatus.SUCCEEDED:
        error = reason or f"{result.status}: exit code {result.exit_code}"
    return RunOutcome(result.status, outputs, error=error)


def limit_reason(status: JobStatus, limits: Limits) -> str | None:
    """Which limit stopped a run, in words; None when none did."""
    if status is JobStatus.TIMED_OUT:
        return (
            f"Stopped by the time limit ({limits.timeout_s:g} s, or "
            f"{limits.cpu_time_s:g} s of CPU time)"
        )
    if status is JobStatus.MEMORY_EXCEEDED:
        return f"Stopped by the memory limit ({limits.memory_mb} MiB)"
    if status is JobStatus.OUTPUT_EXCEEDED:
        return f"Stopped by the output limit ({limits.output_bytes} bytes)"
    return None


def limit_error(reason: str) -> dict[str, Any]:
    """An nbformat error output saying which limit stopped a cell."""
    return {
        "output_type": "error",
        "ename": "LimitExceeded",
        "evalue": reason,
        "traceback": [reason],
    }
