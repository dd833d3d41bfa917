"""The CodeCrafter panel in JupyterLab, in Chromium: sign-in that survives a reload without
any page script seeing the refresh token, sign-out, and plain notebooks left alone."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Screenshots
from tests.browser.lab import TIMEOUT_MS, LabUser

pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_a_reload_keeps_the_user_signed_in_and_sign_out_forgets_them(
    person: LabUser, shots: Screenshots
) -> None:
    """Registered from the panel, the user is still signed in after a reload; the refresh
    token is an HttpOnly cookie no script sees; after signing out a reload asks again."""
    await person.register()
    await shots.take(person.page, "panel-signed-in", publish=True)
    await person.reload()
    await person.show_panel()
    await person.expect_signed_in()
    assert "codecrafter_refresh" not in await person.page.evaluate("document.cookie")
    await person.sign_out()
    await person.reload()
    await person.show_panel()
    await expect(person.panel.get_by_test_id("codecrafter-signin-form")).to_be_visible()


async def test_signing_in_with_a_wrong_password_says_so(person: LabUser) -> None:
    """A wrong password shows the server's message in the form, and a right one signs in."""
    await person.register()
    await person.sign_out()
    form = person.panel.get_by_test_id("codecrafter-signin-form")
    await form.get_by_label("Username or email").fill(person.username)
    await form.get_by_label("Password").fill("not the password")
    await form.get_by_role("button", name="Sign in").click()
    error = person.panel.get_by_test_id("codecrafter-auth-error")
    await expect(error).to_contain_text("Invalid login or password", timeout=TIMEOUT_MS)
    await person.sign_in()


async def test_a_plain_notebook_still_runs_on_a_local_kernel(person: LabUser) -> None:
    """A notebook that is not a session runs its cells on a kernel of the Jupyter host, as
    without the extension."""
    page = person.page
    await page.locator('.jp-LauncherCard[data-category="Notebook"]').first.click()
    await expect(page.locator(".jp-Notebook")).to_be_visible(timeout=TIMEOUT_MS)
    await expect(page.get_by_text("Python 3 (ipykernel) | Idle")).to_be_visible(timeout=TIMEOUT_MS)
    cell = page.locator(".jp-Notebook .jp-Cell .cm-content").first
    await cell.click()
    await page.keyboard.type("print(6 * 7)")
    await page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-OutputArea-output").first
    await expect(output).to_have_text("42", timeout=TIMEOUT_MS)
