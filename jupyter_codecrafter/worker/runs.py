"""Running one job: a cell in its session's kernel, or a snippet in a fresh sandbox.

Each returns a :class:`RunOutcome`: the final status and what to save with it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..store.records import Job, JobStatus
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
        job.session_id, job.limits, job.code, on_output=on_output, tag=job.id
    )
    return RunOutcome(outcome.status, outcome.outputs, outcome.execution_count, outcome.error)


async def run_snippet(sandbox: Sandbox, job: Job, on_output: OnOutput) -> RunOutcome:
    result = await sandbox.run(job.language, job.code, job.stdin, job.limits)
    outputs = [
        {"output_type": "stream", "name": name, "text": text}
        for name, text in (("stdout", result.stdout), ("stderr", result.stderr))
        if text
    ]
    for output in outputs:
        await on_output(output)
    error = None
    if result.status is not JobStatus.SUCCEEDED:
        error = f"{result.status}: exit code {result.exit_code}"
    return RunOutcome(result.status, outputs, error=error)
