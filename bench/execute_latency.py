"""How much a sandboxed, shared cell run costs over a plain local kernel.

Measures, in one run on this machine, the round trip of a trivial cell (``x = 1``):

1. baseline: a local ipykernel driven by jupyter_client (what JupyterLab does on its host);
2. the session kernel in the process sandbox, and in the Docker sandbox (no network, limits);
3. the whole path of a user in embedded mode: POST /execute, the in-process queue and
   worker, the store, then polling the status endpoint (every 2 ms) until the job is final.

Prints p50/p95 in milliseconds and each ratio to the baseline's p50. Run it with
``.venv/bin/python bench/execute_latency.py [--runs N] [--no-docker]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from jupyter_client.manager import start_new_async_kernel

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jupyter_codecrafter.store.records import Limits
from jupyter_codecrafter.worker.kernel import Kernel
from jupyter_codecrafter.worker.sandbox.base import Sandbox
from tests.client import Api
from tests.server import running, start_server

LIMITS = Limits(timeout_s=30, memory_mb=256)
CODE = "x = 1"


async def timed(runs: int, once: Callable[[], Awaitable[Any]]) -> list[float]:
    await once()  # warm-up, not counted
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await once()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def local_kernel(runs: int) -> list[float]:
    manager, client = await start_new_async_kernel(kernel_name="python3")
    try:
        return await timed(runs, lambda: client.execute_interactive(CODE, timeout=30))
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


async def sandbox_kernel(sandbox: Sandbox, runs: int) -> list[float]:
    kernel = await Kernel.start(sandbox, LIMITS)

    async def ignore(_: dict[str, Any]) -> None:
        return None

    try:
        return await timed(
            runs, lambda: kernel.execute(CODE, timeout_s=30, output_bytes=10_000, on_output=ignore)
        )
    finally:
        await kernel.shutdown()
        await sandbox.close()


async def embedded_api(runs: int) -> list[float]:
    workdir = Path(tempfile.mkdtemp(prefix="ccbench"))
    server = start_server(workdir, {"CODECRAFTER_SANDBOX": "process"})
    api = Api(server.api)
    with running(server):
        account = await api.register()
        session = await api.create_session(account)

        async def once() -> None:
            job = await api.run_cell(account, session["id"], "c1", CODE)
            done = await api.wait_job(account, job["id"], poll_s=0.002)
            assert done["status"] == "succeeded"

        try:
            return await timed(runs, once)
        finally:
            await api.aclose()


def report(name: str, samples: list[float], baseline_p50: float) -> None:
    p50 = statistics.median(samples)
    p95 = statistics.quantiles(samples, n=20)[-1]
    print(f"{name:<34} p50 {p50:8.1f} ms   p95 {p95:8.1f} ms   x{p50 / baseline_p50:6.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--no-docker", action="store_true")
    args = parser.parse_args()
    from jupyter_codecrafter.worker.sandbox.process import ProcessSandbox

    baseline = await local_kernel(args.runs)
    base_p50 = statistics.median(baseline)
    report("local kernel (baseline)", baseline, base_p50)
    report("process sandbox kernel", await sandbox_kernel(ProcessSandbox(), args.runs), base_p50)
    if not args.no_docker:
        from jupyter_codecrafter.worker.sandbox.docker import DockerSandbox

        docker = DockerSandbox("codecrafter-sandbox:latest")
        report("docker sandbox kernel", await sandbox_kernel(docker, args.runs), base_p50)
    report("embedded API (POST + poll status)", await embedded_api(args.runs), base_p50)


if __name__ == "__main__":
    asyncio.run(main())
