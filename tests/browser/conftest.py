"""JupyterLab with the CodeCrafter extension in a real browser: Debian's Chromium driven by
Playwright, against a real server on a free loopback port.

Chromium comes from the machine (``apt-get install chromium``, see scripts/provision.sh);
Playwright never downloads a browser of its own. Without Chromium the suite is skipped, or
fails under CODECRAFTER_REQUIRE_SERVICES=1. Screenshots go to the test's artefacts
directory; ``CODECRAFTER_SCREENSHOTS=<dir>`` also copies the README's ones there.
"""

from __future__ import annotations

import base64
import html
import os
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.browser.lab import LabUser
from tests.server import JupyterServer, running, start_server
from tests.services import need

CHROMIUM = os.environ.get("CODECRAFTER_TEST_CHROMIUM", "/usr/bin/chromium")
# As root Chromium needs --no-sandbox; the rest keeps it off the (closed) network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    def probe() -> None:
        import playwright  # noqa: F401 - the driver must be installed

        if shutil.which(CHROMIUM) is None:
            raise FileNotFoundError(f"{CHROMIUM} (apt-get install chromium)")

    need("Chromium", probe)
    return CHROMIUM


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterServer]:
    """JupyterLab's server with the extension, embedded mode; code runs unconfined for
    everyone (the sandbox is not what these tests are about)."""
    workdir = tmp_path_factory.mktemp("lab")
    settings = workdir / "lab-settings"
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false"}')  # no "Jupyter news?" toast over screenshots
    server = start_server(workdir, {"JUPYTERLAB_SETTINGS_DIR": str(settings)})
    with running(server):
        yield server


@pytest.fixture
def shots(request: pytest.FixtureRequest, tmp_path: Path) -> Screenshots:
    return Screenshots(tmp_path / "screenshots", os.environ.get("CODECRAFTER_SCREENSHOTS"))


class Screenshots:
    """Saves screenshots as the test's artefacts (and, when asked, where the README's live)."""

    def __init__(self, directory: Path, publish_to: str | None) -> None:
        self.directory = directory
        self.publish_to = Path(publish_to) if publish_to else None

    async def take(self, page: Page, name: str, *, publish: bool = False) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{name}.png"
        await page.screenshot(path=str(path))
        if publish:
            self._publish(path)
        return path

    async def take_side_by_side(
        self, pages: dict[str, Page], name: str, *, publish: bool = False
    ) -> Path:
        """Several people's pages in one picture, each under its caption (drawn by the
        browser: a page of the first person's context shows the screenshots)."""
        images = [
            (caption, base64.b64encode(await page.screenshot()).decode())
            for caption, page in pages.items()
        ]
        figures = "".join(
            f"<figure><figcaption>{html.escape(caption)}</figcaption>"
            f'<img src="data:image/png;base64,{data}"></figure>'
            for caption, data in images
        )
        style = (
            "body{margin:0;display:flex;gap:12px;padding:12px;background:#ddd;"
            "font:600 20px sans-serif}figure{margin:0;width:1000px}img{width:100%;"
            "border:1px solid #999}figcaption{padding:4px 0 8px}"
        )
        first = next(iter(pages.values()))
        board = await first.context.new_page()
        await board.set_viewport_size({"width": 1000 * len(images) + 36, "height": 700})
        await board.set_content(f"<style>{style}</style>{figures}")
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"{name}.png"
        await board.screenshot(path=str(path), full_page=True)
        await board.close()
        if publish:
            self._publish(path)
        return path

    def _publish(self, path: Path) -> None:
        if self.publish_to is not None:
            self.publish_to.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, self.publish_to / path.name)


@pytest_asyncio.fixture(loop_scope="module")
async def people(
    browser: Browser, lab: JupyterServer, request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[LabUser]]]:
    """Makes people, each with a browser context of their own (their own cookies) and
    JupyterLab open; a failing test leaves a screenshot of each one's page and prints the
    warnings and errors its console showed."""
    made: list[tuple[BrowserContext, LabUser, list[str]]] = []

    async def make() -> LabUser:
        context = await browser.new_context(
            viewport={"width": 1400, "height": 900},
            permissions=["clipboard-read", "clipboard-write"],
        )
        page = await context.new_page()
        console: list[str] = []
        page.on("console", lambda m: _keep_trouble(console, m.type, m.text))
        page.on("pageerror", lambda e: _keep_trouble(console, "pageerror", str(e)))
        user = LabUser(page, lab)
        await user.open_lab()
        made.append((context, user, console))
        return user

    yield make
    for index, (context, user, console) in enumerate(made):
        if request.node.stash.get(FAILED_KEY, False):
            path = tmp_path / f"failure-{index}.png"
            await user.page.screenshot(path=str(path))
            print(f"screenshot of the failure: {path}")
            print(f"console of person {index} ({user.page.url}):", *console, sep="\n  ")
        await context.close()


def _keep_trouble(console: list[str], kind: str, text: str) -> None:
    if kind in ("warning", "error", "pageerror"):
        console.append(f"{kind}: {text[:500]}")


@pytest_asyncio.fixture(loop_scope="module")
async def person(people: Callable[[], Awaitable[LabUser]]) -> LabUser:
    """One person with JupyterLab open."""
    return await people()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """A failing browser test's report names a screenshot of what the page showed."""
    report = yield
    if report.failed and call.when == "call" and "people" in getattr(item, "funcargs", {}):
        item.stash[FAILED_KEY] = True
    return report


FAILED_KEY = pytest.StashKey[bool]()
