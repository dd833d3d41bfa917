"""The abuse battery of the execution engine issue, through the public API, on a real server
per confined backend (Docker, then bubblewrap).

Each case is what a student might send, on purpose or not. It asserts what the user sees (the
status, the output so far, the marker of the limit that stopped it) and then that the run left
nothing behind: no container of the server's worker besides its live kernels, no process on
this host whose command line carries the case's marker, and the next run on the same server
works.

Symlink tricks on what the worker reads back: in both backends the only program that runs with
write access to the directory the worker reads from is the compiler (the Docker build dir is
mounted read-write for it; bwrap reads the binary back with ``read_regular_file``). Source code
cannot run code at compile time: ``-o main`` is fixed, there is no pragma that loads a plugin
or runs a command, and ``__attribute__((constructor))`` runs only when the program does. What
the source can do is read files the compiler sees (``#include``, ``.incbin``) and make the
compiler work hard, both inside the compile sandbox; a run then gets the binary in a mount it
cannot write (Docker) or as its own copy (bwrap). The cases below try each of those, and a
kernel replacing its sockets by links (the other files the worker uses after the sandbox did).
"""

from __future__ import annotations

import ast
import asyncio
import os
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from jupyter_codecrafter.worker.sandbox.cgroups import memory_root
from tests.client import Account, Api, assert_error
from tests.processes import processes_with
from tests.server import JupyterServer, running, start_server

LIMITS = {
    "timeout_s": 2,
    "cpu_time_s": 2,
    "memory_mb": 96,
    "output_bytes": 10_000,
    "pids": 32,
    "tmpfs_mb": 8,
    "file_size_mb": 4,
}
# An ipykernel under bubblewrap needs more than 96 MiB of RLIMIT_DATA just to start.
KERNEL_LIMITS = {**LIMITS, "memory_mb": 192}
CANARY_NAME = "ABUSE_CANARY"
CANARY = f"canary-{secrets.token_hex(8)}"  # in the server's environment, never in a sandbox's
LABEL_WORKER = "codecrafter.worker"
LABEL_RUN = "codecrafter.run"
LABEL_SPARE = "codecrafter.spare"
LABEL_DIR = "codecrafter.dir"


@dataclass
class Backend:
    name: str  # docker | bwrap
    server: JupyterServer


@pytest.fixture(scope="module", params=["docker", "bwrap"])
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Backend]:
    """One server per confined backend, shared by the module's cases."""
    name = request.param
    env = {"CODECRAFTER_SANDBOX": name, "CODECRAFTER_DANGEROUSLY_ALLOW_UNCONFINED_RUNS": "0"}
    env[CANARY_NAME] = CANARY
    if name == "docker":
        env["CODECRAFTER_SANDBOX_IMAGE"] = request.getfixturevalue("sandbox_image")
    else:
        request.getfixturevalue("bwrap_available")
    server = start_server(tmp_path_factory.mktemp(f"abuse-{name}"), env)
    with running(server):
        yield Backend(name, server)


@dataclass
class Student:
    """An ordinary account of the backend's server, running code through the API."""

    api: Api
    account: Account
    backend: Backend

    async def snippet(self, language: str, code: str, stdin: str = "", **limits: Any) -> Job:
        body = {"language": language, "code": code, "stdin": stdin, "limits": {**LIMITS, **limits}}
        return await self._run("/execute/snippet", body)

    async def cell(self, session_id: str, code: str, **limits: Any) -> Job:
        body = {"session_id": session_id, "cell_id": "c1", "code": code}
        return await self._run("/execute", {**body, "limits": {**KERNEL_LIMITS, **limits}})

    async def notebook(self) -> str:
        return str((await self.api.create_session(self.account))["id"])

    async def _run(self, path: str, body: dict[str, Any]) -> Job:
        response = await self.api.http.post(path, json=body, headers=self.account.headers)
        assert response.status_code == 202, response.text
        job_id = response.json()["job"]["id"]
        return Job(await self.api.wait_job(self.account, job_id, timeout_s=60))


@pytest.fixture
async def student(backend: Backend) -> AsyncIterator[Student]:
    async with Api(backend.server.api) as api:
        yield Student(api, await api.register(), backend)


class Job(dict[str, Any]):
    """A finished job as the API returns it, with what a user reads of it."""

    def stream(self, name: str = "stdout") -> str:
        return "".join(o["text"] for o in self["outputs"] if o.get("name") == name)

    def errors(self) -> list[str]:
        return [o["ename"] for o in self["outputs"] if o["output_type"] == "error"]

    @property
    def ran_s(self) -> float:
        started, finished = (datetime.fromisoformat(self[k]) for k in ("started_at", "finished_at"))
        return (finished - started).total_seconds()


def marker() -> str:
    """A number no other process uses as an argument: ``sleep <marker>`` is findable."""
    return str(secrets.randbelow(10**9) + 10**9)


def containers_of(worker_id: str) -> list[Any]:
    """Every container of the worker, running or not (``docker ps -a``)."""
    import docker

    client = docker.from_env()
    try:
        return list(
            client.containers.list(all=True, filters={"label": f"{LABEL_WORKER}={worker_id}"})
        )
    finally:
        client.close()


def containers_left(worker_id: str) -> list[str]:
    """The worker's containers that should be gone: one-shot runs (but spares no run has
    used yet), and dead kernels."""
    mine = containers_of(worker_id)
    return [
        c.name for c in mine if (LABEL_RUN in c.labels and not waiting(c)) or c.status != "running"
    ]


async def containers_left_after_cleanup(worker_id: str, timeout_s: float = 10.0) -> list[str]:
    """``containers_left`` once removals in flight are done (a used spare goes just after
    its run)."""
    for _ in range(int(timeout_s * 10)):
        if not (left := containers_left(worker_id)):
            return []
        await asyncio.sleep(0.1)
    return left


def waiting(container: Any) -> bool:
    """A spare no run has used: the worker writes a run's command into its directory."""
    labels = container.labels
    return LABEL_SPARE in labels and not (Path(labels[LABEL_DIR]) / "run").exists()


async def assert_clean(student: Student, mark: str | None = None) -> None:
    """The next run on the same server works, and nothing of the case is left running."""
    after = await student.snippet("bash", "echo next")
    assert (after["status"], after.stream()) == ("succeeded", "next\n"), after
    if student.backend.name == "docker":
        assert await containers_left_after_cleanup(after["worker"]) == []
    if mark is not None:
        assert processes_with(mark) == []


def known_defect(
    request: pytest.FixtureRequest, student: Student, backend: str, reason: str
) -> None:
    """The case fails on ``backend`` until the defect is fixed (and must: strict)."""
    if student.backend.name == backend:
        request.applymarker(pytest.mark.xfail(strict=True, reason=f"{backend}: {reason}"))


def stopped_by(job: Job, limit: str) -> bool:
    """Whether a snippet's stderr ends with the marker of ``limit`` (time, memory, output)."""
    last = job.stream("stderr").rstrip().splitlines()[-1:]
    return bool(last) and last[0].startswith(f"[Stopped by the {limit} limit (")


# Processes


FORK_BOMB = """
import os
forks = 0
try:
    while forks < 1000:
        if os.fork() == 0:
            os.execvp("sleep", ["sleep", "{mark}"])
        forks += 1
except BlockingIOError:
    print("fork refused after", forks)
"""


async def test_fork_bomb_hits_the_process_limit(student: Student) -> None:
    """A fork bomb is refused new processes at the pids limit; none of its children stay."""
    mark = marker()
    job = await student.snippet("python", FORK_BOMB.format(mark=mark), pids=16)
    assert job["status"] == "succeeded", job
    assert job.stream().startswith("fork refused after")
    assert int(job.stream().split()[-1]) < 16
    await assert_clean(student, mark)


BACKGROUND = """
(sleep {mark} &)
setsid sleep {mark} &
nohup sleep {mark} > /dev/null 2>&1 &
setsid sh -c 'sleep {mark}' < /dev/null > /tmp/log 2>&1 &
echo started
"""


async def test_background_processes_do_not_outlive_the_run(student: Student) -> None:
    """A run that leaves processes behind (double fork, setsid, nohup) ends when its program
    does, succeeded, and takes them with it."""
    mark = marker()
    job = await student.snippet("bash", BACKGROUND.format(mark=mark), timeout_s=10)
    assert (job["status"], job.stream()) == ("succeeded", "started\n"), job
    assert job.ran_s < 10
    await assert_clean(student, mark)


async def test_background_processes_of_a_kernel_end_with_it(student: Student) -> None:
    """A cell may leave processes running in its kernel; restarting the kernel ends them."""
    mark, session = marker(), await student.notebook()
    code = f"import subprocess\nsubprocess.run({BACKGROUND.format(mark=mark)!r}, shell=True)"
    job = await student.cell(session, code)
    assert job["status"] == "succeeded", job
    assert processes_with(mark) != []  # alive with the kernel: this is what restart must end
    restart = await student.api.http.post(
        f"/sessions/{session}/kernel/restart", headers=student.account.headers
    )
    assert restart.status_code == 202, restart.text
    await assert_clean(student, mark)


# Memory


MEMORY_BOMB = (
    "print('allocating', flush=True)\n"
    "chunks = []\nwhile True:\n    chunks.append(bytearray(8 * 2**20))\n"
)


async def test_memory_bomb_is_memory_exceeded(student: Student) -> None:
    """A program allocating without end is stopped by the memory limit, output kept."""
    job = await student.snippet("python", MEMORY_BOMB)
    assert job["status"] == "memory_exceeded", job
    assert job.stream() == "allocating\n"
    assert stopped_by(job, "memory")
    await assert_clean(student)


SHARED_MEMORY_BOMB = """
import mmap
size = 256 * 2**20
shared = mmap.mmap(-1, size)  # MAP_SHARED | MAP_ANONYMOUS: RLIMIT_DATA does not count it
for offset in range(0, size, 4096):
    shared[offset] = 1
print("touched", size >> 20, "MiB")
"""


async def test_shared_memory_bomb_is_memory_exceeded(
    student: Student, request: pytest.FixtureRequest
) -> None:
    """Memory in a shared mapping counts too: 256 MiB under a 96 MiB limit is stopped."""
    job = await student.snippet("python", SHARED_MEMORY_BOMB)
    assert job["status"] == "memory_exceeded", job
    assert "touched" not in job.stream()
    await assert_clean(student)


C_MALLOC_LOOP = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(void) {
    puts("allocating"); fflush(stdout);
    for (;;) {
        char *p = malloc(1 << 20);
        if (!p) { fputs("malloc failed\n", stderr); return 3; }
        memset(p, 1, 1 << 20);
    }
}
"""


async def test_c_program_allocating_in_a_loop_is_stopped(student: Student) -> None:
    """malloc in a loop ends at the memory limit: killed by the sandbox's memory cgroup
    (Docker's, or bwrap's when the worker may make cgroups), else refused memory (bwrap's
    rlimit, which the program sees as malloc returning NULL); output kept."""
    job = await student.snippet("c", C_MALLOC_LOOP)
    assert job.stream() == "allocating\n"
    if student.backend.name == "docker" or memory_root() is not None:
        assert job["status"] == "memory_exceeded" and stopped_by(job, "memory"), job
    else:
        assert job["status"] == "failed" and job.stream("stderr") == "malloc failed\n", job
    await assert_clean(student)


async def test_memory_bomb_in_a_cell_ends_and_the_next_cell_runs(student: Student) -> None:
    """A cell allocating without end is memory_exceeded with a LimitExceeded output; the
    session's next cell runs (in a fresh kernel when the old one was killed)."""
    session = await student.notebook()
    job = await student.cell(session, MEMORY_BOMB)
    assert job["status"] == "memory_exceeded", job
    assert job.stream() == "allocating\n"
    assert job.errors()[-1] == "LimitExceeded"
    after = await student.cell(session, "print('alive')")
    assert (after["status"], after.stream()) == ("succeeded", "alive\n"), after
    await assert_clean(student)


# Disk


FILL = """
import os
for part in range(100):
    with open(os.path.join(DIRECTORY, f"part{part}"), "wb") as file:
        file.write(b"0" * 2 * 2**20)
    print("wrote", part, flush=True)
"""


@pytest.mark.parametrize("directory", ["/tmp", "/dev/shm"])
async def test_filling_a_tmpfs_stops_at_its_size(student: Student, directory: str) -> None:
    """Writing 2 MiB files into /tmp or /dev/shm fails with 'No space left on device' at
    the tmpfs size (8 MiB); what was printed before is kept, and the next run starts empty."""
    code = FILL.replace("DIRECTORY", repr(directory))
    job = await student.snippet("python", code)
    assert job["status"] == "failed", job
    assert job.stream("stderr").rstrip().endswith("No space left on device")
    assert job.stream().startswith("wrote 0\nwrote 1\n")
    assert len(job.stream().splitlines()) <= 4  # 2 MiB each: the 8 MiB of the tmpfs
    # Only the top level: a checkout under /tmp has its venv bound below the sandbox's /tmp.
    fresh = await student.snippet("bash", f"ls {directory} | grep -c '^part[0-9]' || true")
    assert (fresh["status"], fresh.stream()) == ("succeeded", "0\n")
    await assert_clean(student)


ELSEWHERE = """
import os
for directory in ["/", "/usr", "/etc", "/var/tmp", "/home", "/opt", "/k", "/dev", "/proc"]:
    try:
        with open(os.path.join(directory, "fill"), "wb") as file:
            file.write(b"0" * 2**20)
        print(directory, "WRITTEN")
    except OSError as exc:
        print(directory, type(exc).__name__)
with open("/tmp/big", "wb") as file:
    file.write(b"0" * 5 * 2**20)
"""


async def test_nothing_outside_the_tmpfs_is_writable(student: Student) -> None:
    """Every other directory refuses a file, and a file above the file size limit (4 MiB)
    fails with 'File too large'."""
    job = await student.snippet("python", ELSEWHERE)
    assert job["status"] == "failed", job
    assert "WRITTEN" not in job.stream()
    assert len(job.stream().splitlines()) == 9
    assert job.stream("stderr").rstrip().endswith("File too large")
    await assert_clean(student)


# Output


async def test_endless_output_is_stopped_at_the_cap(student: Student) -> None:
    """Printing without end stops at the output cap, with exactly the cap's bytes kept."""
    job = await student.snippet("python", "while True: print('x' * 99)")
    assert job["status"] == "output_exceeded", job
    assert job.stream() == ("x" * 99 + "\n") * 100
    assert stopped_by(job, "output")
    await assert_clean(student)


async def test_endless_output_in_a_cell_is_stopped_at_the_cap(student: Student) -> None:
    """A cell printing without end is output_exceeded with the cap's worth of text and a
    LimitExceeded output; the kernel keeps its state."""
    session = await student.notebook()
    await student.cell(session, "kept = 42")
    job = await student.cell(session, "while True: print('x' * 99)")
    assert job["status"] == "output_exceeded", job
    assert len(job.stream().encode()) == 10_000 and set(job.stream()) == {"x", "\n"}
    assert job.errors() == ["LimitExceeded"]
    after = await student.cell(session, "print(kept)")
    assert (after["status"], after.stream()) == ("succeeded", "42\n"), after
    await assert_clean(student)


RICH_OUTPUTS = """
from IPython.display import HTML, display
for i in range(100_000):
    display(HTML(f"<b>{i}</b>"))
"""


async def test_many_small_rich_outputs_are_stopped_at_the_cap(student: Student) -> None:
    """A cell displaying small HTML outputs without end is output_exceeded: the outputs up
    to the cap arrive in order, then LimitExceeded."""
    session = await student.notebook()
    job = await student.cell(session, RICH_OUTPUTS)
    assert job["status"] == "output_exceeded", job
    shown = [o["data"]["text/html"] for o in job["outputs"] if o["output_type"] == "display_data"]
    assert 10 < len(shown) < 200
    assert shown == [f"<b>{i}</b>" for i in range(len(shown))]
    assert job["outputs"][-1]["ename"] == "LimitExceeded"
    await assert_clean(student)


# Time


async def test_sleeping_forever_is_timed_out(student: Student) -> None:
    """A program that sleeps for ever is stopped by the wall clock, output kept."""
    job = await student.snippet("bash", "echo started; sleep infinity")
    assert (job["status"], job.stream()) == ("timed_out", "started\n"), job
    assert stopped_by(job, "time")
    await assert_clean(student)


async def test_sleeping_forever_in_a_cell_is_timed_out(student: Student) -> None:
    """A cell sleeping for ever is timed_out with a LimitExceeded output; the kernel is
    interrupted, not lost: its variables are still there."""
    session = await student.notebook()
    job = await student.cell(session, "kept = 7\nprint('started')\nimport time\ntime.sleep(10**6)")
    assert (job["status"], job.stream()) == ("timed_out", "started\n"), job
    assert job.errors()[-1] == "LimitExceeded"
    after = await student.cell(session, "print(kept)")
    assert (after["status"], after.stream()) == ("succeeded", "7\n"), after
    await assert_clean(student)


async def test_busy_loop_is_stopped_by_the_cpu_limit(student: Student) -> None:
    """A busy loop is stopped by its CPU time (1 s), before the wall-clock limit (5 s)."""
    job = await student.snippet("python", "while True: pass", timeout_s=5, cpu_time_s=1)
    assert job["status"] == "timed_out", job
    assert stopped_by(job, "time")
    assert job.ran_s < 5
    await assert_clean(student)


IGNORES_SIGXCPU = """
import signal
signal.signal(signal.SIGXCPU, signal.SIG_IGN)
print("spinning", flush=True)
while True:
    pass
"""


async def test_busy_loop_ignoring_sigxcpu_is_timed_out(student: Student) -> None:
    """A busy loop that ignores SIGXCPU is still a time limit: timed_out, output kept."""
    job = await student.snippet("python", IGNORES_SIGXCPU, timeout_s=3, cpu_time_s=1)
    assert (job["status"], job.stream()) == ("timed_out", "spinning\n"), job
    assert stopped_by(job, "time")
    await assert_clean(student)


# Network


@pytest.fixture(scope="module")
def host_listener() -> Iterator[int]:
    """A TCP port listening on every address of this host."""
    with socket.socket() as server:
        server.bind(("0.0.0.0", 0))  # noqa: S104 - a port the sandbox must not reach
        server.listen()
        yield int(server.getsockname()[1])


def host_address() -> str | None:
    """This host's address on its default route (no packet is sent), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))
        except OSError:
            return None
        return str(probe.getsockname()[0])


CONNECT = """
import socket
print([name for _, name in socket.if_nameindex()])
for host, port in {targets!r}:
    try:
        socket.create_connection((host, port), timeout=1).close()
        print(host, port, "CONNECTED")
    except OSError as exc:
        print(host, port, type(exc).__name__)
"""


async def test_no_network_to_the_host_or_its_services(
    student: Student, host_listener: int, redis_url: str, amqp_url: str
) -> None:
    """A run sees only loopback: a listener of the host, Redis and RabbitMQ on the host's
    loopback (and on its address) are unreachable."""
    ports = [host_listener, urlparse(redis_url).port or 6379, urlparse(amqp_url).port or 5672]
    addresses = ["127.0.0.1", "::1", *filter(None, [host_address()])]
    targets = [(address, port) for address in addresses for port in ports]
    job = await student.snippet("python", CONNECT.format(targets=targets), timeout_s=10)
    assert job["status"] == "succeeded", job
    lines = job.stream().splitlines()
    assert lines[0] == "['lo']"
    assert len(lines) == len(targets) + 1 and "CONNECTED" not in job.stream()
    await assert_clean(student)


# The host's environment and files


DUMP_ENVIRONMENT = """
import glob, os
print(sorted(os.environ.items()))
for path in glob.glob("/proc/*/environ") + glob.glob("/proc/*/cmdline"):
    try:
        print(path, open(path, "rb").read().decode(errors="replace"))
    except OSError:
        pass
"""


async def test_the_servers_environment_is_not_visible(student: Student) -> None:
    """Neither the program's environment nor any process it can see carries a variable of
    the server's (a canary set in it)."""
    job = await student.snippet("python", DUMP_ENVIRONMENT)
    assert job["status"] == "succeeded", job
    assert "HOME" in job.stream() and CANARY not in job.stream()
    await assert_clean(student)


LOOK = """
import os
for path in {paths!r}:
    if not os.path.lexists(path):
        print(path, "absent")
        continue
    try:
        os.listdir(path) if os.path.isdir(path) else open(path, "rb").read(1)
        print(path, "READABLE")
    except OSError:
        print(path, "unreadable")
"""


def server_files(server: JupyterServer) -> list[str]:
    """The server's data dir (JWT secret, store), Jupyter runtime files, config and root."""
    workdir = server.root.parent
    runtime = sorted(str(path) for path in (workdir / "runtime").glob("*"))
    data = [workdir / "codecrafter", workdir / "codecrafter" / "jwt_secret"]
    return [*map(str, [*data, workdir / "runtime", workdir / "config", server.root]), *runtime]


async def test_the_servers_files_are_not_visible(student: Student) -> None:
    """The server's data dir, Jupyter runtime files (its token), config dir and root, and
    /etc/shadow, cannot be read."""
    paths = [*server_files(student.backend.server), "/etc/shadow"]
    assert len(paths) > 7  # the runtime dir has the server's files: the probe looks at them
    job = await student.snippet("python", LOOK.format(paths=paths))
    assert job["status"] == "succeeded", job
    seen = dict(line.rsplit(" ", 1) for line in job.stream().splitlines())
    assert seen.keys() == set(paths) and "READABLE" not in seen.values(), seen
    await assert_clean(student)


PEEK_CONFIG = """
import os
print(os.path.lexists({jupyter_config!r}))
print(os.listdir("/usr/local/etc") if os.path.isdir("/usr/local/etc") else [])
"""


def listing(directory: str) -> set[str]:
    return set(os.listdir(directory)) if os.path.isdir(directory) else set()


async def test_the_servers_jupyter_configuration_is_not_visible(student: Student) -> None:
    """Configuration in the server's Python environment (its Jupyter config dir, where an
    operator may set secrets) and the host's /usr/local/etc (npm's global config, which may
    hold registry tokens) are not visible."""
    jupyter_config = str(Path(sys.prefix, "etc", "jupyter"))
    job = await student.snippet("python", PEEK_CONFIG.format(jupyter_config=jupyter_config))
    assert job["status"] == "succeeded", job
    exists, names = job.stream().splitlines()
    assert exists == "False"
    assert listing("/usr/local/etc").isdisjoint(ast.literal_eval(names))
    await assert_clean(student)


def existing(paths: list[str]) -> list[str]:
    return [path for path in paths if os.path.lexists(path)]


WRITE_OUT = """
import os
for path in {paths!r}:
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as file:
            file.write("planted")
        print(path, "written inside")
    except OSError as exc:
        print(path, type(exc).__name__)
"""


async def test_writes_do_not_reach_the_hosts_files(student: Student) -> None:
    """Files a run writes at paths of the host (its /tmp, the server's data and root dirs)
    stay in the sandbox: none appears on the host."""
    workdir, name = student.backend.server.root.parent, f"planted-{marker()}"
    paths = [f"/tmp/{name}", str(workdir / "codecrafter" / name), str(workdir / "root" / name)]
    job = await student.snippet("python", WRITE_OUT.format(paths=paths))
    assert job["status"] == "succeeded", job
    assert len(job.stream().splitlines()) == len(paths)
    assert existing(paths) == []
    await assert_clean(student)


# Files the worker reads back


INCBIN = r"""
__asm__(".section .rodata\nsecret: .incbin \"/etc/shadow\"\n.previous");
int main(void) { return 0; }
"""


async def test_compiler_cannot_embed_the_hosts_files(student: Student) -> None:
    """Source that asks the assembler to embed /etc/shadow gets the compile sandbox's view:
    no such file (bwrap), or one the sandbox user cannot read (Docker)."""
    job = await student.snippet("c", INCBIN)
    assert job["status"] == "compile_error", job
    assert "/etc/shadow" in job.stream("stderr") and "root:" not in job.stream("stderr")
    await assert_clean(student)


TAMPER = r"""
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    (void)argc;
    printf("unlink %d\n", unlink(argv[0]));
    printf("symlink %d\n", symlink("/etc/shadow", argv[0]));
    printf("link %d\n", symlink("/", "lnk") == 0 && rename("lnk", argv[0]) == 0);
    return 0;
}
"""


async def test_a_program_cannot_replace_its_binary_for_the_host(student: Student) -> None:
    """The compiled program cannot remove its binary or put a link in its place (Docker's
    mount is read-only, bwrap's copy is not the sandbox user's); the next C run is unaffected."""
    job = await student.snippet("c", TAMPER)
    assert (job["status"], job.stream()) == ("succeeded", "unlink -1\nsymlink -1\nlink 0\n"), job
    after = await student.snippet("c", '#include <stdio.h>\nint main(void) { puts("fine"); }\n')
    assert (after["status"], after.stream()) == ("succeeded", "fine\n"), after
    await assert_clean(student)


PLANT_LINK = """
import os
for action in (lambda: os.symlink("/etc/shadow", "/k/k-9"), lambda: os.unlink("/k/k-1")):
    try:
        action()
        print("DONE")
    except OSError as exc:
        print(type(exc).__name__)
"""


async def test_a_kernel_cannot_replace_its_sockets(student: Student) -> None:
    """A cell cannot add a link to its kernel's socket directory or remove a socket (which
    the worker connects to again); the next cell still reaches the kernel."""
    session = await student.notebook()
    job = await student.cell(session, PLANT_LINK)
    assert (job["status"], job.stream()) == ("succeeded", "PermissionError\n" * 2), job
    after = await student.cell(session, "print('reached')")
    assert (after["status"], after.stream()) == ("succeeded", "reached\n"), after
    await assert_clean(student)


# Input


async def test_huge_stdin_is_read_whole(student: Student) -> None:
    """800 KB of stdin reaches the program whole."""
    code = "import sys\nprint(len(sys.stdin.read()))"
    job = await student.snippet("python", code, stdin="x" * 800_000)
    assert (job["status"], job.stream()) == ("succeeded", "800000\n"), job
    await assert_clean(student)


async def test_huge_unread_stdin_does_not_block_the_run(student: Student) -> None:
    """A program that never reads its 800 KB of stdin still ends at its time limit."""
    job = await student.snippet("bash", "echo waiting; sleep infinity", stdin="x" * 800_000)
    assert (job["status"], job.stream()) == ("timed_out", "waiting\n"), job
    await assert_clean(student)


async def test_stdin_above_the_limit_is_refused(student: Student) -> None:
    """A stdin larger than the request cap (1 MB) is refused with 413."""
    body = {"language": "python", "code": "print(1)", "stdin": "x" * 1_200_000}
    response = await student.api.http.post(
        "/execute/snippet", json=body, headers=student.account.headers
    )
    assert_error(response, 413)
    await assert_clean(student)


# Crashes


SEGFAULT = r"""
#include <stdio.h>
int main(void) {
    puts("before the crash"); fflush(stdout);
    volatile int *p = 0;
    return *p;
}
"""


async def test_segfault_is_a_failure_with_its_signal(student: Student) -> None:
    """A C program that dereferences NULL fails, its output kept, the signal named."""
    job = await student.snippet("c", SEGFAULT)
    assert (job["status"], job.stream()) == ("failed", "before the crash\n"), job
    assert job["error"].endswith(f"exit code {-signal.SIGSEGV}")
    await assert_clean(student)


# Last: stops the module's server.


async def test_stopping_the_server_leaves_no_sandbox(student: Student) -> None:
    """When the server stops, its kernels go with it: no container of its worker, and no
    process a cell left running in a kernel."""
    mark, session = marker(), await student.notebook()
    job = await student.cell(session, f"import subprocess\nsubprocess.Popen(['sleep', '{mark}'])")
    assert job["status"] == "succeeded" and processes_with(mark) != [], job
    if student.backend.name == "docker":
        assert containers_of(job["worker"]) != []  # the kernels, until the server stops
    assert await asyncio.to_thread(student.backend.server.stop) == 0
    if student.backend.name == "docker":
        assert containers_of(job["worker"]) == []
    assert processes_with(mark) == []
