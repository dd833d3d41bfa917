"""Shift+Enter to output, as people see it in JupyterLab, against a stock notebook.

In Chromium (Debian's, driven by Playwright), in one run on this machine:

1. baseline: a stock JupyterLab notebook on a local kernel; from the Shift+Enter keydown to
   the output rendered in the same page;
2. CodeCrafter: a session notebook; from the owner's Shift+Enter keydown to the output
   rendered in a second user's browser (joined by invite link), through the server, the
   queue, the sandbox kernel and the room.

Both pages stamp times with ``Date.now()`` on the same machine: a keydown listener in the
typing page, a MutationObserver in the watching one. Prints p50/p99 in milliseconds and the
ratio to the baseline. Run with ``.venv/bin/python bench/frontend_latency.py [--runs 30]
[--sandbox bwrap|process|docker]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.async_api import Locator, Page, async_playwright

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.browser.lab import LabUser
from tests.server import JupyterServer, running, start_server

STAMP_KEYDOWN = """() => {
  window.__sent = [];
  document.addEventListener('keydown', e => {
    if (e.key === 'Enter' && (e.shiftKey || e.ctrlKey)) window.__sent.push(Date.now());
  }, true);
}"""
# Records when each "mark-<n>" first appears in an output area of the page.
WATCH_OUTPUTS = """() => {
  window.__seen = {};
  new MutationObserver(() => {
    for (const node of document.querySelectorAll('.jp-OutputArea-output')) {
      const found = /mark-(\\d+)/.exec(node.textContent || '');
      if (found && !(found[1] in window.__seen)) window.__seen[found[1]] = Date.now();
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
}"""


async def measure(typist: Page, cell: Locator, watcher: Page, runs: int) -> list[float]:
    """Milliseconds from each Shift+Enter in ``typist`` to its output in ``watcher``."""
    await typist.evaluate(STAMP_KEYDOWN)
    await watcher.evaluate(WATCH_OUTPUTS)
    latencies = []
    for n in range(runs):
        await cell.click()
        await typist.keyboard.press("Control+a")
        await typist.keyboard.type(f"print('mark-{n}')")
        await typist.keyboard.press("Control+Enter")  # runs and stays on the cell
        await watcher.wait_for_function(f"() => '{n}' in (window.__seen || {{}})", timeout=30_000)
        sent = await typist.evaluate("window.__sent[window.__sent.length - 1]")
        seen = await watcher.evaluate(f"window.__seen['{n}']")
        latencies.append(float(seen - sent))
    return latencies


async def stock_notebook(user: LabUser, runs: int) -> list[float]:
    page = user.page
    await page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    await page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=60_000)
    cell = page.locator(".jp-Notebook .jp-Cell .cm-content").first
    await measure(page, cell, page, 3)  # warm-up
    return await measure(page, cell, page, runs)


async def shared_session(owner: LabUser, guest: LabUser, runs: int) -> list[float]:
    tab = await owner.create_notebook("Latency")
    invite = await owner.create_invite("Latency", "write")
    await guest.open_lab("/lab" + invite.split("/lab", 1)[1])
    await guest.register()
    await guest.session_tab()
    cell = tab.locator(".jp-Cell .cm-content").first
    await measure(owner.page, cell, guest.page, 3)  # warm-up: the sandbox kernel starts
    return await measure(owner.page, cell, guest.page, runs)


def report(name: str, samples: list[float], baseline_p50: float) -> None:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    ratio = p50 / baseline_p50 if baseline_p50 else float("nan")
    print(f"{name:42} p50 {p50:7.1f} ms   p99 {p99:7.1f} ms   p50 x{ratio:4.2f}")


async def main(runs: int, sandbox: str) -> None:
    with tempfile.TemporaryDirectory(prefix="ccbench") as workdir:
        server = start_server(Path(workdir), {"CODECRAFTER_SANDBOX": sandbox})
        with running(server):
            stock, shared = await browse(server, runs)
    print(f"Shift+Enter to rendered output, {runs} runs of print(), sandbox {sandbox}")
    base = statistics.median(stock)
    report("stock notebook, local kernel (same page)", stock, base)
    report("session, sandbox kernel (other user's page)", shared, base)


async def browse(server: JupyterServer, runs: int) -> tuple[list[float], list[float]]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        people = []
        for _ in range(2):
            context = await browser.new_context(viewport={"width": 1400, "height": 900})
            people.append(LabUser(await context.new_page(), server))
        for person in people:
            await person.open_lab()
        stock = await stock_notebook(people[0], runs)
        await people[0].register()
        shared = await shared_session(people[0], people[1], runs)
        await browser.close()
    return stock, shared


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--sandbox", default="bwrap", choices=["bwrap", "process", "docker"])
    args = parser.parse_args()
    asyncio.run(main(args.runs, args.sandbox))
