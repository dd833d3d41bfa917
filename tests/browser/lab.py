"""What a person does in JupyterLab, as Playwright steps: open Lab, use the CodeCrafter
panel, work in notebooks. Locators use the roles and labels a screen reader sees."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from playwright.async_api import Locator, Page, expect

from tests.api.auth_helpers import jupyter_token
from tests.server import JupyterServer

PASSWORD = "correct horse"
TIMEOUT_MS = 30_000


@dataclass
class LabUser:
    page: Page
    lab: JupyterServer
    username: str = field(default_factory=lambda: f"b{uuid.uuid4().hex[:10]}")

    async def open_lab(self, path: str = "/lab") -> None:
        """Open JupyterLab with Jupyter's token, as the link `jupyter lab` prints does."""
        await self.page.goto(f"{self.lab.url}{path}?token={jupyter_token(self.lab)}")
        await self.page.locator("#jp-main-dock-panel").wait_for(timeout=TIMEOUT_MS)

    async def reload(self) -> None:
        await self.page.reload()
        await self.page.locator("#jp-main-dock-panel").wait_for(timeout=TIMEOUT_MS)

    @property
    def panel(self) -> Locator:
        return self.page.locator("#jp-CodeCrafter-panel")

    async def show_panel(self) -> None:
        tab = self.page.locator('.jp-SideBar li[data-id="jp-CodeCrafter-panel"]')
        if await tab.get_attribute("aria-selected") != "true":
            await tab.click()
        await expect(self.panel).to_be_visible()

    async def register(self) -> None:
        await self.show_panel()
        await self.panel.get_by_test_id("codecrafter-show-register").click()
        form = self.panel.get_by_test_id("codecrafter-register-form")
        await form.get_by_label("Username").fill(self.username)
        await form.get_by_label("Email").fill(f"{self.username}@example.org")
        await form.get_by_label("Password").fill(PASSWORD)
        await form.get_by_role("button", name="Create account").click()
        await self.expect_signed_in()

    async def sign_in(self) -> None:
        await self.show_panel()
        form = self.panel.get_by_test_id("codecrafter-signin-form")
        await form.get_by_label("Username or email").fill(self.username)
        await form.get_by_label("Password").fill(PASSWORD)
        await form.get_by_role("button", name="Sign in").click()
        await self.expect_signed_in()

    async def expect_signed_in(self) -> None:
        user = self.panel.get_by_test_id("codecrafter-user")
        await expect(user).to_contain_text(self.username, timeout=TIMEOUT_MS)

    async def sign_out(self) -> None:
        await self.panel.get_by_test_id("codecrafter-signout").click()
        await expect(self.panel.get_by_test_id("codecrafter-signin-form")).to_be_visible()
