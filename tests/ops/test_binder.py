"""The Binder demo, built and launched as repo2docker would, as far as this machine allows.

A real repo2docker build is NOT run here: it pulls its base images, which these machines
cannot reach. It is emulated: a fresh venv from the system's Python 3.11 (what
binder/runtime.txt asks for) with binder/requirements.txt, binder/postBuild run from the
repository's root, then `binder/start jupyter lab` as a non-root user (nobody) in a memory
cgroup limited to 2 GiB. The visitor's API calls and Chromium follow.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.client import Account, Api
from tests.ops.conftest import REPO
from tests.server import Process, running
from tests.services import free_port, need

pytestmark = pytest.mark.timeout(600)
SYSTEM_PYTHON = "/usr/bin/python3"  # not a pyenv build: nobody must be able to run it
MEMORY_CGROUPS = Path("/sys/fs/cgroup/memory")
LIMIT_BYTES = 2 * 1024**3
FITS_BYTES = 1024**3  # "it fits in 1 GB of memory"
NOBODY = 65534


@dataclass
class BinderLab:
    url: str
    token: str
    process: Process
    cgroup: Path

    @property
    def api(self) -> str:
        return f"{self.url}/api/codecrafter"


def prerequisites() -> None:
    version = subprocess.run([SYSTEM_PYTHON, "-c", "import sys, venv; print(sys.version_info[:2])"],
                             capture_output=True, text=True, check=True).stdout  # fmt: skip
    if "(3, 11)" not in version:
        raise RuntimeError(f"{SYSTEM_PYTHON} is {version.strip()}, binder/runtime.txt says 3.11")
    if os.geteuid() != 0 or not os.access(MEMORY_CGROUPS, os.W_OK):
        raise PermissionError("needs root and the cgroup v1 memory controller to limit memory")


def build(base: Path) -> Path:
    """What repo2docker does at build time: the repository, a venv, requirements, postBuild."""
    repo = base / "repo"
    repo.mkdir()
    # The committed tree, as Binder checks it out (not files being edited here meanwhile).
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", "HEAD"],
                             capture_output=True, check=True).stdout  # fmt: skip
    subprocess.run(["tar", "-x", "-C", str(repo)], input=archive, check=True)
    venv = base / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", str(venv)], check=True)
    env = {**os.environ, "PATH": f"{venv / 'bin'}:{os.environ['PATH']}", "VIRTUAL_ENV": str(venv)}
    env.pop("PYTHONPATH", None)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "-r", "binder/requirements.txt"], cwd=repo, env=env, check=True)
    subprocess.run(["bash", "binder/postBuild"], cwd=repo, env=env, check=True)
    return venv


def launch(base: Path, venv: Path, cgroup: Path) -> BinderLab:
    """`binder/start jupyter lab` as nobody, inside the memory cgroup."""
    home = base / "home"
    home.mkdir()
    subprocess.run(["chown", "-R", f"{NOBODY}:{NOBODY}", str(base)], check=True)
    port, token = free_port(), secrets.token_hex(16)
    command = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
               str(base / "repo" / "binder" / "start"), "jupyter", "lab", "--no-browser",
               "--ip=127.0.0.1", f"--port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}"]  # fmt: skip
    env = {"HOME": str(home), "PATH": f"{venv / 'bin'}:/usr/bin:/bin", "LANG": "C.UTF-8"}
    log_path = base / "lab.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT,
                                preexec_fn=lambda: join_cgroup(cgroup))  # fmt: skip
    return BinderLab(
        f"http://127.0.0.1:{port}", token, Process(proc=proc, log_path=log_path), cgroup
    )


def join_cgroup(cgroup: Path) -> None:
    (cgroup / "cgroup.procs").write_text(str(os.getpid()))


def wait_ready(lab: BinderLab, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert lab.process.proc.poll() is None, lab.process.log_tail()
        try:
            if httpx.get(f"{lab.api}/health", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(lab.process.log_tail())


@pytest.fixture(scope="module")
def binder_lab() -> Iterator[BinderLab]:
    need(
        "a Binder emulation (Python 3.11 at /usr/bin/python3, root, memory cgroups)", prerequisites
    )
    base = Path(tempfile.mkdtemp(prefix="ccbinder-", dir="/tmp"))
    base.chmod(0o755)
    cgroup = MEMORY_CGROUPS / base.name
    cgroup.mkdir()
    (cgroup / "memory.limit_in_bytes").write_text(str(LIMIT_BYTES))
    try:
        started = time.monotonic()
        venv = build(base)
        print(f"Binder build emulated in {time.monotonic() - started:.0f} s", file=sys.stderr)
        lab = launch(base, venv, cgroup)
        with running(lab.process):
            wait_ready(lab)
            yield lab
    finally:
        for _ in range(50):  # the cgroup goes once its last process has
            if not (cgroup / "cgroup.procs").read_text().strip():
                break
            time.sleep(0.1)
        cgroup.rmdir()
        shutil.rmtree(base, ignore_errors=True)


async def demo_account(lab: BinderLab, api: Api) -> Account:
    headers = {"Authorization": f"token {lab.token}"}
    response = await api.http.post("/auth/refresh", json={}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return Account(body["user"], body["access_token"], "", "")


async def test_the_api_runs_a_cell_of_the_welcome_session(binder_lab: BinderLab) -> None:
    """The visitor is the demo user, owns the welcome session, and its first cell runs."""
    async with Api(binder_lab.api) as api:
        account = await demo_account(binder_lab, api)
        assert account.user["username"] == "demo"
        listed = await api.http.get("/sessions?scope=mine", headers=account.headers)
        [welcome] = [s for s in listed.json()["sessions"] if s["title"] == "Welcome to CodeCrafter"]
        job = await api.run_cell(
            account, welcome["id"], "hello", "print('Hello from a CodeCrafter worker!')"
        )
        done = await api.wait_job(account, job["id"])
    assert done["status"] == "succeeded", done
    assert done["outputs"][0]["text"] == "Hello from a CodeCrafter worker!\n"


async def test_chromium_shows_the_panel_signed_in_as_the_demo_user(binder_lab: BinderLab) -> None:
    """Opening the launch link in Chromium, the CodeCrafter panel says the demo user is in."""
    need(
        "Chromium",
        lambda: shutil.which(CHROMIUM) or (_ for _ in ()).throw(FileNotFoundError(CHROMIUM)),
    )
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        page = await browser.new_page(viewport={"width": 1400, "height": 900})
        await page.goto(f"{binder_lab.url}/lab?token={binder_lab.token}")
        await page.locator("#jp-main-dock-panel").wait_for(timeout=60_000)
        tab = page.locator('.jp-SideBar li[data-id="jp-CodeCrafter-panel"]')
        if await tab.get_attribute("aria-selected") != "true":
            await tab.click()
        user = page.locator("#jp-CodeCrafter-panel").get_by_test_id("codecrafter-user")
        await expect(user).to_contain_text("demo", timeout=60_000)
        await browser.close()


def test_it_fits_in_a_gigabyte(binder_lab: BinderLab) -> None:
    """After the runs and the browser session above, the container's peak memory (its
    processes and their page cache) stayed under 1 GiB."""
    peak = int((binder_lab.cgroup / "memory.max_usage_in_bytes").read_text())
    print(f"Binder demo peak memory: {peak / 2**20:.0f} MiB", file=sys.stderr)
    assert peak < FITS_BYTES
