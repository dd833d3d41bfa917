"""Running one job: a cell in its session's kernel, or a snippet in a fresh sandbox.

Each returns the fields to save with the final status (``status`` included).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from ..store.records import Job, JobStatus
from ..utils import utcnow
from .kernels import KernelPool
from .sandbox.base import Sandbox

OnOutput = Callable[[dict[str, Any]], Awaitable[None]]


async def run_cell(pool: KernelPool, job: Job, on_output: OnOutput) -> dict[str, Any]:
    assert job.session_id is not None, "a cell job always belongs to a session"
    outcome = await pool.execute(
        job.session_id, job.limits, job.code, on_output=on_output, tag=job.id
    )
    return {
        "status": outcome.status,
        "outputs": outcome.outputs,
        "execution_count": outcome.execution_count,
        "error": outcome.error,
        "finished_at": utcnow(),
    }


async def run_snippet(sandbox: Sandbox, job: Job, on_output: OnOutput) -> dict[str, Any]:
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
    return {"status": result.status, "outputs": outputs, "error": error, "finished_at": utcnow()}
