"""The execution engine under a classroom's load, through the API of a real embedded server.

Prints, each against its baseline measured in the same run:

1. first run of a new notebook session (POST to final), with the warm pool and without;
2. a single python snippet on an idle server, p50, against one ``docker run --rm``;
3. snippet throughput: 40 snippets at once, against 4 parallel loops of 5 ``docker run --rm``;
4. 30 sessions pressing Run at once: cold (no kernels yet) and warm (their kernels running);
5. 30 new sessions pressing Run at once on a worker whose warm pool is sized to the class
   (``warm_kernels`` 30, filled before the lesson), against the cold figure of 4; and 3 again
   with 40 spare containers (``warm_snippets`` 40).

Run with ``.venv/bin/python bench/engine.py [--sandbox docker|bwrap] [--runs 10]``.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.client import Account, Api
from tests.server import running, start_server

IMAGE = "codecrafter-sandbox:latest"
DOCKER_RUN = ["docker", "run", "--rm", "--network", "none", IMAGE, "python3", "-c", "print(1)"]


async def timed(coro: object) -> float:
    started = time.perf_counter()
    await coro  # type: ignore[misc]
    return time.perf_counter() - started


async def cell_run(
    api: Api, account: Account, session_id: str, poll_s: float = 0.005
) -> dict[str, Any]:
    job = await api.run_cell(account, session_id, "c1", "print(1)")
    done = await api.wait_job(account, job["id"], poll_s=poll_s)
    assert done["status"] == "succeeded", done
    return done


async def run_burst(api: Api, pairs: list[tuple[Account, dict[str, Any]]]) -> float:
    """Seconds from the moment every student presses Run to the last run's ``finished_at``.
    The clients poll every 0.5 s: 30 clients polling often load the 2 cores more than the
    kernels' starts do (at 5 ms they took 17 of the 42 CPU-seconds of a cold burst)."""
    started = time.time()
    jobs = await asyncio.gather(*(cell_run(api, a, s["id"], poll_s=0.5) for a, s in pairs))
    return max(finished_at(job) for job in jobs) - started


def finished_at(job: dict[str, Any]) -> float:
    return datetime.fromisoformat(str(job["finished_at"])).timestamp()


async def snippet(api: Api, account: Account, poll_s: float = 0.005) -> dict[str, Any]:
    body = {"language": "python", "code": "print(1)"}
    response = await api.http.post("/execute/snippet", json=body, headers=account.headers)
    assert response.status_code == 202, response.text
    done = await api.wait_job(account, response.json()["job"]["id"], poll_s=poll_s)
    assert done["status"] == "succeeded", done
    return done


async def idle_snippet(api: Api, account: Account) -> float:
    """One snippet on an idle server: after a pause, as when one student presses Run."""
    await asyncio.sleep(1.0)
    return await timed(snippet(api, account))


async def first_runs(api: Api, accounts: list[Account], runs: int) -> list[float]:
    """POST to final of the first cell of fresh sessions, one after another."""
    times = []
    for index in range(runs):
        account = accounts[index % len(accounts)]
        session = await api.create_session(account)
        times.append(await timed(cell_run(api, account, session["id"])))
        await asyncio.sleep(1.0)  # the warm pool refills between sessions, as between students
    return times


def docker_loops(loops: int, each: int) -> float:
    """Runs per second of ``loops`` parallel shells each doing ``each`` docker runs."""
    script = "; ".join([shlex.join(DOCKER_RUN) + " >/dev/null"] * each)
    started = time.perf_counter()
    shells = [subprocess.Popen(["/bin/sh", "-c", script]) for _ in range(loops)]  # noqa: S603
    for shell in shells:
        shell.wait()
    return loops * each / (time.perf_counter() - started)


def one_docker_run() -> float:
    started = time.perf_counter()
    subprocess.run(DOCKER_RUN, check=True, capture_output=True)  # noqa: S603
    return time.perf_counter() - started


def p50(values: list[float]) -> float:
    return statistics.median(values)


async def main(sandbox: str, runs: int) -> None:
    for warm in ("1", "0"):
        with tempfile.TemporaryDirectory(prefix="ccengine") as workdir:
            env = {
                "CODECRAFTER_SANDBOX": sandbox,
                "CODECRAFTER_WARM_KERNELS": warm,
                "CODECRAFTER_RUNS_PER_USER": "0",
                "CODECRAFTER_WORKER_CONCURRENCY": "8",
            }
            server = start_server(Path(workdir), env)
            with running(server):
                async with Api(server.api) as api:
                    await measure(api, sandbox, runs, warm=warm == "1")
    await class_sized_pool(sandbox)


async def class_sized_pool(sandbox: str) -> None:
    """A worker with its pools sized to the class, filled before the lesson: 30 new sessions
    at once on 30 kernels started ahead, and (Docker) 40 snippets at once on 40 spares."""
    token = secrets.token_hex(16)
    env = {
        "CODECRAFTER_SANDBOX": sandbox,
        "CODECRAFTER_WARM_KERNELS": "30",
        "CODECRAFTER_WARM_SNIPPETS": "40" if sandbox == "docker" else "0",
        "CODECRAFTER_RUNS_PER_USER": "0",
        "CODECRAFTER_WORKER_CONCURRENCY": "8",
    }
    with tempfile.TemporaryDirectory(prefix="ccengine") as workdir:
        server = start_server(Path(workdir), env, args=[f"--IdentityProvider.token={token}"])
        with running(server):
            async with Api(server.api) as api:
                accounts = [await api.register() for _ in range(30)]
                await pool_filled(server.url, token, "warm_pool_size", 30)
                if sandbox == "docker":  # first: after the sessions, 30 kernels are remade
                    await pool_filled(server.url, token, "spare_containers", 40)
                    await snippet_burst(api, accounts, "warm_snippets 40")
                    await pool_filled(server.url, token, "spare_containers", 40)
                sessions = [await api.create_session(account) for account in accounts]
                took = await run_burst(api, list(zip(accounts, sessions, strict=True)))
                print(f"30 new sessions press Run at once, warm_kernels 30: {took:.2f} s")


async def pool_filled(url: str, token: str, gauge: str, size: int, timeout_s: float = 300) -> None:
    """Wait until the server's metrics show ``size`` in the pool gauge ``gauge``."""
    headers = {"Authorization": f"token {token}"}
    wanted = f"codecrafter_{gauge} {float(size)}"
    async with httpx.AsyncClient(base_url=url, headers=headers) as http, asyncio.timeout(timeout_s):
        # Polled: metrics have no change event to wait on.
        while wanted not in (await http.get("/metrics")).text:  # noqa: ASYNC110
            await asyncio.sleep(1)


async def snippet_burst(api: Api, accounts: list[Account], label: str) -> None:
    """40 python snippets at once, against 4 parallel loops of 5 ``docker run --rm`` run just
    before (after the burst the worker refills its spares). The burst ends at the last
    run's ``finished_at``: the clients poll only every 0.5 s, since 40 clients polling often
    load the server more than the runs do."""
    loop_rate = docker_loops(4, 5)
    started = time.time()
    jobs = await asyncio.gather(*(snippet(api, accounts[i % 30], poll_s=0.5) for i in range(40)))
    rate = 40 / (max(finished_at(job) for job in jobs) - started)
    print(
        f"40 snippets at once, {label}: {rate:.1f} runs/s (4 loops of 5 docker runs: "
        f"{loop_rate:.1f}/s, x{rate / loop_rate:.2f})"
    )


async def measure(api: Api, sandbox: str, runs: int, *, warm: bool) -> None:
    accounts = [await api.register() for _ in range(30)]
    await asyncio.sleep(5)  # the worker announces itself; the pool fills
    first = await first_runs(api, accounts, runs)
    print(
        f"[warm pool {'on ' if warm else 'off'}] first run of a new session: p50 {p50(first):.3f} s"
    )
    if not warm:
        return
    single = [await idle_snippet(api, accounts[0]) for _ in range(runs)]
    baseline = [one_docker_run() for _ in range(5)] if sandbox == "docker" else [float("nan")]
    print(f"single snippet: p50 {p50(single):.3f} s (docker run --rm: {p50(baseline):.3f} s)")
    if sandbox == "docker":
        await snippet_burst(api, accounts, "warm_snippets 2 (the default)")
    await classroom(api, accounts)


async def classroom(api: Api, accounts: list[Account]) -> None:
    sessions = [await api.create_session(account) for account in accounts]
    pairs = list(zip(accounts, sessions, strict=True))
    for label in ("cold", "warm"):
        took = await run_burst(api, pairs)
        print(f"30 sessions press Run at once ({label}): {took:.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", default="docker", choices=["docker", "bwrap"])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(main(args.sandbox, args.runs))
