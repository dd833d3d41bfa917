"""Shared sessions in JupyterLab, two or three people in their own browsers: a notebook
session opened from the panel, run on the sandbox kernel (none on the host), joined through
an invite link, edited together with cursors, read-only for readers, and its kernel and
run history in the details."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import expect

from tests.browser.conftest import Screenshots
from tests.browser.lab import TIMEOUT_MS, People, join

pytestmark = pytest.mark.asyncio(loop_scope="module")


def title() -> str:
    return f"Lesson {uuid.uuid4().hex[:6]}"


async def test_a_shared_notebook_runs_in_the_sandbox_for_everyone(
    people: People, shots: Screenshots
) -> None:
    """The owner's Shift+Enter shows [*] then the output, from the sandbox kernel (the host
    starts none); a writer who joined by link sees the code, the output and the owner's
    cursor with their name."""
    owner, name = await people(), title()
    await owner.register()
    tab = await owner.create_notebook(name)
    invite = await owner.create_invite(name, "write")
    writer = await join(people, invite)
    writer_tab = await writer.session_tab()
    await owner.type_in_cell(tab, "import time; time.sleep(1); print(6 * 7)")
    await owner.page.keyboard.press("Shift+Enter")
    await expect(tab.locator(".jp-InputPrompt").first).to_have_text("[*]:", timeout=TIMEOUT_MS)
    for shown in (tab, writer_tab):
        output = shown.locator(".jp-OutputArea-output").first
        await expect(output).to_have_text("42", timeout=TIMEOUT_MS)
    await expect(writer_tab.locator(".jp-Cell .cm-content").first).to_contain_text("6 * 7")
    await owner.type_in_cell(tab, "", index=0)  # the owner's caret back in the cell
    cursor = writer_tab.locator(".cm-ySelectionInfo")
    await expect(cursor.first).to_contain_text(owner.username, timeout=TIMEOUT_MS)
    assert await owner.host_kernels() == []
    await shots.take(writer.page, "shared-notebook", publish=True)


async def test_a_reader_cannot_edit_or_run_and_a_demoted_writer_is_read_only_at_once(
    people: People, shots: Screenshots
) -> None:
    """A reader's tab says it is read only and typing changes nothing; when the owner turns
    a writer into a reader, the writer's open tab becomes read only at once."""
    owner, name = await people(), title()
    await owner.register()
    tab = await owner.create_notebook(name)
    await owner.type_in_cell(tab, "x = 1")
    reader = await join(people, await owner.create_invite(name, "read"))
    reader_tab = await reader.session_tab()
    marker = reader_tab.locator(".jp-CodeCrafter-readOnlyMarker")
    await expect(marker).to_be_visible(timeout=TIMEOUT_MS)
    await reader.type_in_cell(reader_tab, "hacked ")
    await reader.page.wait_for_timeout(1000)  # time for an edit to travel, if one went
    await expect(tab.locator(".jp-Cell .cm-content").first).not_to_contain_text("hacked")
    await expect(reader_tab.locator(".jp-Cell .cm-content").first).not_to_contain_text("hacked")
    await shots.take(reader.page, "read-only-tab", publish=True)
    writer = await join(people, await owner.create_invite(name, "write"))
    writer_tab = await writer.session_tab()
    await expect(writer_tab.locator(".jp-CodeCrafter-readOnlyMarker")).to_be_hidden()
    details = await owner.open_details(name)
    row = details.locator(
        f'[data-testid="codecrafter-collaborator"][data-username="{writer.username}"]'
    )
    await row.get_by_test_id("codecrafter-collaborator-role").select_option("read")
    await expect(writer_tab.locator(".jp-CodeCrafter-readOnlyMarker")).to_be_visible(
        timeout=TIMEOUT_MS
    )


async def test_interrupt_keeps_the_variables_restart_clears_them_and_runs_are_listed(
    people: People, shots: Screenshots
) -> None:
    """JupyterLab's own Interrupt stops `while True: pass` and a variable defined before is
    still there; Restart (confirmed) clears it; the details list the runs."""
    owner, name = await people(), title()
    await owner.register()
    tab = await owner.create_notebook(name)
    page = owner.page
    await owner.type_in_cell(tab, "x = 42")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("while True: pass")
    await page.keyboard.press("Shift+Enter")
    await expect(tab).to_have_attribute("data-codecrafter-kernel", "busy", timeout=TIMEOUT_MS)
    await tab.get_by_role("button", name=re.compile("Interrupt", re.I)).first.click()
    await expect(tab).to_have_attribute("data-codecrafter-kernel", "idle", timeout=TIMEOUT_MS)
    await page.keyboard.type("print(x)")
    await page.keyboard.press("Shift+Enter")
    outputs = tab.locator(".jp-Cell").nth(2).locator(".jp-OutputArea-output")
    await expect(outputs.first).to_have_text("42", timeout=TIMEOUT_MS)
    details = await owner.open_details(name)
    await expect(details.get_by_test_id("codecrafter-run")).to_have_count(3, timeout=TIMEOUT_MS)
    await shots.take(page, "session-details", publish=True)
    await tab.get_by_role("button", name=re.compile("Restart", re.I)).first.click()
    await page.locator(".jp-Dialog").get_by_role("button", name="Confirm Kernel Restart").click()
    await expect(tab).to_have_attribute("data-codecrafter-kernel", "idle", timeout=TIMEOUT_MS)
    await owner.type_in_cell(tab, "", index=3)
    await page.keyboard.type("print(x)")
    await page.keyboard.press("Shift+Enter")
    error = tab.locator(".jp-Cell").nth(3).locator(".jp-OutputArea-output")
    await expect(error.first).to_contain_text("NameError", timeout=TIMEOUT_MS)
