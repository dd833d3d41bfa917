"""What a person does in JupyterLab, as Playwright steps: open Lab, use the CodeCrafter
panel, work in notebooks. Locators use the roles and labels a screen reader sees."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
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
        separator = "&" if "?" in path else "?"
        await self.page.goto(f"{self.lab.url}{path}{separator}token={jupyter_token(self.lab)}")
        await self.page.locator("#jp-main-dock-panel").wait_for(timeout=TIMEOUT_MS)

    async def reload(self) -> None:
        await self.page.reload()
        await self.page.locator("#jp-main-dock-panel").wait_for(timeout=TIMEOUT_MS)

    @property
    def panel(self) -> Locator:
        return self.page.locator("#jp-CodeCrafter-panel")

    async def show_panel(self) -> None:
        """The CodeCrafter sidebar open (the invite flow may be opening it meanwhile)."""
        tab = self.page.locator('.jp-SideBar li[data-id="jp-CodeCrafter-panel"]')
        for _ in range(3):
            if await self.panel.is_visible():
                return
            if await tab.get_attribute("aria-selected") != "true":
                await tab.click()
            await self.page.wait_for_timeout(300)
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

    # Sessions

    async def create_notebook(self, title: str) -> Locator:
        """A blank notebook session made from the panel; it opens in a tab, which is returned."""
        await self.show_panel()
        await self.panel.get_by_test_id("codecrafter-new-notebook").click()
        dialog = self.page.locator(".jp-Dialog")
        await dialog.locator("input").fill(title)
        await dialog.get_by_role("button", name="Create").click()
        return await self.session_tab()

    async def session_tab(self) -> Locator:
        """The session notebook in front, once its room has synced."""
        tab = self.page.locator(".jp-NotebookPanel.jp-CodeCrafter-session:visible")
        await expect(tab.locator(".jp-Cell").first).to_be_visible(timeout=TIMEOUT_MS)
        return tab

    async def type_in_cell(self, tab: Locator, text: str, index: int = 0) -> None:
        await tab.locator(".jp-Cell .cm-content").nth(index).click()
        await self.page.keyboard.type(text)

    async def open_details(self, title: str) -> Locator:
        await self.show_panel()
        await self.panel.get_by_role("button", name=f"Details {title}").click()
        details = self.page.get_by_test_id("codecrafter-session-details")
        await expect(details).to_be_visible(timeout=TIMEOUT_MS)
        return details

    async def create_invite(self, title: str, role: str) -> str:
        """The URL of a new invite link to the session, made in its details."""
        details = await self.open_details(title)
        form = details.get_by_test_id("codecrafter-invite-form")
        await form.get_by_test_id("codecrafter-invite-role").select_option(role)
        await form.get_by_test_id("codecrafter-invite-create").click()
        row = details.locator(f'[data-testid="codecrafter-invite"][data-role="{role}"]').first
        await expect(row).to_be_visible(timeout=TIMEOUT_MS)
        return (await row.get_by_test_id("codecrafter-invite-url").input_value()).strip()

    async def host_kernels(self) -> list[object]:
        """What Jupyter's own /api/kernels lists (kernels on the host)."""
        response = await self.page.request.get(
            f"{self.lab.url}/api/kernels?token={jupyter_token(self.lab)}"
        )
        kernels: list[object] = await response.json()
        return kernels


People = Callable[[], Awaitable[LabUser]]


async def join(people: People, invite_url: str) -> LabUser:
    """Someone new opens the invite link, registers in the panel, and the session opens."""
    guest = await people()
    await guest.open_lab("/lab" + invite_url.split("/lab", 1)[1])
    await guest.register()
    return guest
