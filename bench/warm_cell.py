"""A warm cell run, from POST to the output in a second client's document, and where the
time goes.

One user runs ``print`` in a session whose kernel is warm; a second client of the room (on
the other instance when scaled) notes when the output reaches its copy of the notebook.
Baselines in the same run: a raw ``jupyter_client`` round trip to a local kernel, and to a
kernel in the sandbox driven directly (no server). The job's own timestamps (stored by
server and worker, to the millisecond) split the path into: API (POST to queued), queue
(queued to started by the worker), sandbox (the kernel's run, from the direct baseline),
and events and room (the rest, until the second client has the output).

Every series runs ``PAUSE_S`` apart, as a student's runs are: a kernel and a server idle
for that long answer more slowly than one kept busy (here a local kernel's round trip took
3.2 ms back to back and 4.7 ms 0.2 s apart), so the ratio compares like with like. The
local kernel's back-to-back figure is printed too, and so is the whole path run back to back
against it.

Run with ``.venv/bin/python bench/warm_cell.py [--mode embedded|scaled] [--runs 30]
[--sandbox docker|bwrap|process]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from exec_common import BarePoster, Watchers, deployment, warm_session
from jupyter_client.manager import start_new_async_kernel

from jupyter_codecrafter.store.records import Limits
from jupyter_codecrafter.worker.kernel import Kernel
from jupyter_codecrafter.worker.sandbox.base import Sandbox
from tests.client import Account, Api

LIMITS = Limits(timeout_s=30, memory_mb=256)
Stages = dict[str, list[float]]  # moment of the path -> milliseconds after the POST, per run
PAUSE_S = 0.2  # between two runs of every series


def ms(seconds: float) -> float:
    return seconds * 1000


async def local_kernel(runs: int) -> tuple[list[float], list[float]]:
    """Round trips to a local kernel, ``PAUSE_S`` apart and back to back."""
    manager, client = await start_new_async_kernel(kernel_name="python3")

    async def run() -> None:
        await client.execute_interactive("print(1)", timeout=30, output_hook=lambda m: None)

    try:
        return await series(run, runs, PAUSE_S), await series(run, runs, 0)
    finally:
        client.stop_channels()
        await manager.shutdown_kernel(now=True)


async def sandbox_kernel(sandbox_name: str, runs: int) -> list[float]:
    sandbox = new_sandbox(sandbox_name)
    sandbox.start()
    kernel = await Kernel.start(sandbox, LIMITS)

    async def ignore(_: dict[str, Any]) -> None:
        return None

    async def run() -> None:
        await kernel.execute("print(1)", timeout_s=30, output_bytes=10_000, on_output=ignore)

    try:
        return await series(run, runs, PAUSE_S)
    finally:
        await kernel.shutdown()
        await sandbox.close()


async def series(run: Callable[[], Awaitable[None]], runs: int, pause_s: float) -> list[float]:
    """Milliseconds each of ``runs`` calls took, ``pause_s`` apart, after a warm-up call."""
    samples = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        await run()
        samples.append(ms(time.perf_counter() - started))
        await asyncio.sleep(pause_s)
    return samples[1:]


def new_sandbox(name: str) -> Sandbox:
    if name == "docker":
        from jupyter_codecrafter.worker.sandbox.docker import DockerSandbox

        return DockerSandbox("codecrafter-sandbox:latest")
    if name == "bwrap":
        from jupyter_codecrafter.worker.sandbox.bwrap import BwrapSandbox

        return BwrapSandbox()
    from jupyter_codecrafter.worker.sandbox.process import ProcessSandbox

    return ProcessSandbox()


async def ours(mode: str, sandbox: str, runs: int) -> tuple[Stages, Stages]:
    """Each moment of the path, in runs ``PAUSE_S`` apart, then in runs back to back."""
    with deployment(mode, sandbox) as servers:
        async with Api(servers[0].api) as api:
            user = await api.register()
            session = await warm_session(api, user)
            watchers = Watchers()
            await watchers.open([servers[-1].room_url(session, user.access_token)])
            poster = BarePoster(servers[0].api, user)
            try:
                paced = await timed_runs(api, user, poster, session, watchers, runs, PAUSE_S)
                back_to_back = await timed_runs(api, user, poster, session, watchers, runs, 0)
                return paced, back_to_back
            finally:
                poster.close()
                await watchers.close()


async def timed_runs(
    api: Api,
    user: Account,
    poster: BarePoster,
    session: str,
    watchers: Watchers,
    runs: int,
    pause_s: float,
) -> Stages:
    stages: Stages = {}
    for run in range(runs + 1):
        wall, started = time.time(), time.perf_counter()
        mark = f"{run}-{round(pause_s * 1000)}"  # each series its own marks
        job = await poster.run_cell(session, "c1", f"print('@{mark}@')")
        accepted = time.perf_counter()
        await watchers.until_seen([mark], 1)
        done = await api.wait_job(user, job["id"], poll_s=0.005)
        if run == 0:
            continue  # warm-up
        seen = watchers.times([mark])[0]
        for name, at in (
            ("accepted (202)", accepted - started),
            ("queued", stamp(done, "queued_at") - wall),
            ("started by the worker", stamp(done, "started_at") - wall),
            ("output in the second client", seen - started),
            ("finished", stamp(done, "finished_at") - wall),
        ):
            stages.setdefault(name, []).append(ms(at))
        await asyncio.sleep(pause_s)
    return stages


def stamp(job: dict[str, Any], field: str) -> float:
    return datetime.fromisoformat(str(job[field])).timestamp()


def p50(samples: list[float]) -> float:
    return statistics.median(samples)


def report(
    local: tuple[list[float], list[float]], direct: list[float], measured: tuple[Stages, Stages]
) -> None:
    stages, back_to_back_stages = measured
    base, back_to_back = p50(local[0]), p50(local[1])
    print(f"{'local kernel, jupyter_client (baseline)':<44} p50 {base:7.1f} ms")
    print(f"{'  the same, back to back':<44} p50 {back_to_back:7.1f} ms")
    ratio = p50(direct) / base
    print(f"{'sandbox kernel, driven directly':<44} p50 {p50(direct):7.1f} ms  x{ratio:.2f}")
    print("whole path, p50 of each moment after the POST was sent:")
    for name, samples in stages.items():
        print(f"  {name:<42} {p50(samples):7.1f} ms")
    total = p50(stages["output in the second client"])
    started = p50(stages["started by the worker"])
    print(f"{'POST to output in a second client':<44} p50 {total:7.1f} ms  x{total / base:.2f}")
    print(f"{'  against the back-to-back round trip':<44} {'':11}    x{total / back_to_back:.2f}")
    fast = p50(back_to_back_stages["output in the second client"])
    print(f"{'  back to back too':<44} p50 {fast:7.1f} ms  x{fast / back_to_back:.2f}")
    print("where it goes (p50):")
    print(f"  API, POST to queued        {p50(stages['queued']):7.1f} ms")
    print(f"  queue, to the worker       {started - p50(stages['queued']):7.1f} ms")
    print(f"  sandbox kernel             {p50(direct):7.1f} ms")
    print(f"  events and room            {total - started - p50(direct):7.1f} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="embedded", choices=["embedded", "scaled"])
    parser.add_argument("--sandbox", default="docker", choices=["docker", "bwrap", "process"])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    local = await local_kernel(args.runs)
    direct = await sandbox_kernel(args.sandbox, args.runs)
    report(local, direct, await ours(args.mode, args.sandbox, args.runs))


if __name__ == "__main__":
    asyncio.run(main())
