"""The session's sandbox kernel as JupyterLab's kernel: Tab completion and Shift+Tab help
from it, input() answered in the notebook, and ipywidgets shared by two people, alive
after a reload. Cells still run as jobs; the page talks to the kernel through the
session's kernel channel."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Locator, expect

from tests.browser.conftest import Screenshots
from tests.browser.lab import TIMEOUT_MS, LabUser, People, join

pytestmark = pytest.mark.asyncio(loop_scope="module")

SLIDER_CODE = """from ipywidgets import IntSlider, interact

@interact(n=IntSlider(value=3, min=0, max=10, description="n"))
def square(n):
    print(f"{n} squared is {n * n}")"""


def title() -> str:
    return f"Kernel {uuid.uuid4().hex[:6]}"


async def run_cell(user: LabUser, tab: Locator, code: str, index: int) -> Locator:
    """Type code into cell ``index``, run it (Shift+Enter), and return the cell once its
    run is done (its prompt has a number)."""
    await user.type_in_cell(tab, code, index=index)
    await user.page.keyboard.press("Shift+Enter")
    cell = tab.locator(".jp-Cell").nth(index)
    prompt = cell.locator(".jp-InputPrompt")
    await expect(prompt).to_have_text(re.compile(r"\[\d+\]:"), timeout=TIMEOUT_MS)
    return cell


async def press_tab_until_completions(user: LabUser) -> Locator:
    """Tab, and Tab again if nothing showed: a fresh kernel's first completion loads jedi,
    which can outlast JupyterLab's completer timeout (1 s), as a person would notice."""
    completer = user.page.locator(".jp-Completer")
    for _ in range(3):
        await user.page.keyboard.press("Tab")
        try:
            await expect(completer).to_be_visible(timeout=5000)
            break
        except AssertionError:
            continue
    return completer


async def test_tab_completes_and_shift_tab_shows_help_from_the_sandbox_kernel(
    person: LabUser, shots: Screenshots
) -> None:
    """After a cell defines two names, Tab on their prefix lists both in JupyterLab's
    completer, and Shift+Tab on a function shows its docstring."""
    await person.register()
    tab = await person.create_notebook(title())
    code = (
        "lesson_alpha = 1\nlesson_beta = 2\n"
        'def greet(name):\n    """Say hello to the whole class."""\n'
    )
    await run_cell(person, tab, code, index=0)
    page = person.page
    await page.keyboard.type("lesson_")
    completer = await press_tab_until_completions(person)
    await expect(completer).to_be_visible()
    for name in ("lesson_alpha", "lesson_beta"):
        await expect(completer.locator(".jp-Completer-item", has_text=name)).to_be_visible()
    await shots.take(page, "kernel-completion")
    await page.keyboard.press("Escape")
    await page.keyboard.press("Control+a")
    await page.keyboard.type("greet(")
    await page.keyboard.press("Shift+Tab")
    tooltip = page.locator(".jp-Tooltip")
    await expect(tooltip).to_contain_text("Say hello to the whole class", timeout=TIMEOUT_MS)


async def test_input_asks_the_user_who_ran_the_cell_and_takes_their_answer(
    person: LabUser, shots: Screenshots
) -> None:
    """input() shows JupyterLab's input box under the cell with its prompt; the answer
    typed there reaches the kernel and the cell prints it."""
    await person.register()
    tab = await person.create_notebook(title())
    await person.type_in_cell(tab, 'name = input("Your name? ")\nprint(f"Hello, {name}!")')
    await person.page.keyboard.press("Shift+Enter")
    stdin = tab.locator(".jp-Cell").first.locator(".jp-Stdin")
    await expect(stdin).to_contain_text("Your name?", timeout=TIMEOUT_MS)
    await shots.take(person.page, "kernel-input")
    await stdin.locator("input").fill("Ada")
    await stdin.locator("input").press("Enter")
    output = tab.locator(".jp-Cell").first.locator(".jp-OutputArea-output")
    await expect(output.last).to_have_text("Hello, Ada!", timeout=TIMEOUT_MS)
    await expect(stdin).to_have_count(0)


async def test_a_collaborator_sees_that_a_cell_waits_for_someone_elses_input(
    people: People, shots: Screenshots
) -> None:
    """While the owner's input() waits, the writer's tab says so under that cell (with no
    box of its own); once the owner answers, the note goes and both see the printout."""
    owner, name = await people(), title()
    await owner.register()
    tab = await owner.create_notebook(name)
    writer = await join(people, await owner.create_invite(name, "write"))
    writer_tab = await writer.session_tab()
    await owner.type_in_cell(tab, 'answer = input("Ready? ")\nprint("owner said", answer)')
    await owner.page.keyboard.press("Shift+Enter")
    stdin = tab.locator(".jp-Cell").first.locator(".jp-Stdin")
    await expect(stdin).to_contain_text("Ready?", timeout=TIMEOUT_MS)
    writer_cell = writer_tab.locator(".jp-Cell").first
    note = writer_cell.locator(".jp-CodeCrafter-inputWait")
    await expect(note).to_contain_text("Waiting for input", timeout=TIMEOUT_MS)
    await expect(writer_cell.locator(".jp-Stdin")).to_have_count(0)
    await expect(tab.locator(".jp-CodeCrafter-inputWait")).to_have_count(0)
    await shots.take(writer.page, "input-wait")
    await stdin.locator("input").fill("yes")
    await stdin.locator("input").press("Enter")
    await expect(note).to_have_count(0, timeout=TIMEOUT_MS)
    for shown in (tab, writer_tab):
        output = shown.locator(".jp-Cell").first.locator(".jp-OutputArea-output")
        await expect(output.last).to_have_text("owner said yes", timeout=TIMEOUT_MS)


async def test_getpass_asks_with_a_password_box_and_interrupt_ends_the_wait(
    person: LabUser,
) -> None:
    """getpass() shows a password box; Interrupt while it waits ends the run with
    KeyboardInterrupt and the box goes away."""
    await person.register()
    tab = await person.create_notebook(title())
    await person.type_in_cell(tab, 'from getpass import getpass\nsecret = getpass("Secret? ")')
    await person.page.keyboard.press("Shift+Enter")
    cell = tab.locator(".jp-Cell").first
    stdin = cell.locator(".jp-Stdin")
    await expect(stdin).to_contain_text("Secret?", timeout=TIMEOUT_MS)
    await expect(stdin.locator("input")).to_have_attribute("type", "password")
    await tab.get_by_role("button", name=re.compile("Interrupt", re.I)).first.click()
    await expect(cell.locator(".jp-OutputArea-output").last).to_contain_text(
        "KeyboardInterrupt", timeout=TIMEOUT_MS
    )
    await expect(stdin).to_have_count(0)


async def reopened(user: LabUser, name: str) -> Locator:
    """The session after a reload: reopened by the page when its URL named it, else (the
    layout JupyterLab restores cannot open it yet) opened again from the panel."""
    tab = user.page.locator(".jp-NotebookPanel.jp-CodeCrafter-session:visible")
    try:
        await expect(tab).to_be_visible(timeout=10_000)
    except AssertionError:
        refused = user.page.locator(".jp-Dialog", has_text="Cannot open")
        if await refused.count():
            await refused.get_by_role("button", name="Close").click()
        await user.show_panel()
        await user.panel.get_by_role("button", name=f"Open {name}").click()
    return await user.session_tab()


async def set_slider(slider: Locator, value: int) -> None:
    """Type a value into the slider's readout, as a person can."""
    readout = slider.locator(".widget-readout")
    await readout.click()
    await readout.press("Control+a")
    await readout.type(str(value))
    await readout.press("Enter")


async def test_two_people_share_a_slider_and_its_output_and_a_reload_keeps_it(
    people: People, shots: Screenshots
) -> None:
    """The owner runs an interact slider; the writer who joined moves it to 7 and both see
    7 and "7 squared is 49"; after a reload, the owner's page (the session open again)
    still shows 7 and its output, and moving it there updates the writer's."""
    owner, name = await people(), title()
    await owner.register()
    tab = await owner.create_notebook(name)
    writer = await join(people, await owner.create_invite(name, "write"))
    writer_tab = await writer.session_tab()
    await owner.type_in_cell(tab, SLIDER_CODE)
    await owner.page.keyboard.press("Shift+Enter")
    sliders = [t.locator(".jp-Cell").first.locator(".widget-slider") for t in (tab, writer_tab)]
    for shown, slider in zip((tab, writer_tab), sliders, strict=True):
        await expect(slider.locator(".widget-readout")).to_have_text("3", timeout=TIMEOUT_MS)
        await expect(shown.locator(".jp-Cell").first).to_contain_text("3 squared is 9")
    await set_slider(sliders[1], 7)
    for shown, slider in zip((tab, writer_tab), sliders, strict=True):
        await expect(slider.locator(".widget-readout")).to_have_text("7", timeout=TIMEOUT_MS)
        await expect(shown.locator(".jp-Cell").first).to_contain_text(
            "7 squared is 49", timeout=TIMEOUT_MS
        )
    await shots.take_side_by_side(
        {
            f"{owner.username} (owner)": owner.page,
            f"{writer.username} (writer, moved it)": writer.page,
        },
        "shared-widgets",
        publish=True,
    )
    await owner.reload()
    tab = await reopened(owner, name)
    slider = tab.locator(".jp-Cell").first.locator(".widget-slider")
    await expect(slider.locator(".widget-readout")).to_have_text("7", timeout=TIMEOUT_MS)
    await expect(tab.locator(".jp-Cell").first).to_contain_text("7 squared is 49")
    await set_slider(slider, 5)
    await expect(writer_tab.locator(".jp-Cell").first).to_contain_text(
        "5 squared is 25", timeout=TIMEOUT_MS
    )


async def test_a_reader_sees_the_widgets_follow_but_cannot_move_them(people: People) -> None:
    """A reader's slider and its output follow the owner's moves; the reader's own slider
    takes no pointer input (the server would drop the change anyway); Shift+Tab in the
    read-only code still shows help from the kernel."""
    owner, name = await people(), title()
    await owner.register()
    tab = await owner.create_notebook(name)
    reader = await join(people, await owner.create_invite(name, "read"))
    reader_tab = await reader.session_tab()
    await owner.type_in_cell(tab, SLIDER_CODE)
    await owner.page.keyboard.press("Shift+Enter")
    readout = reader_tab.locator(".jp-Cell").first.locator(".widget-slider .widget-readout")
    await expect(readout).to_have_text("3", timeout=TIMEOUT_MS)
    for part in (readout, reader_tab.locator(".widget-slider .noUi-target").first):
        assert await part.evaluate("e => getComputedStyle(e).pointerEvents") == "none"
    await set_slider(tab.locator(".jp-Cell").first.locator(".widget-slider"), 8)
    await expect(readout).to_have_text("8", timeout=TIMEOUT_MS)
    await expect(reader_tab.locator(".jp-Cell").first).to_contain_text(
        "8 squared is 64", timeout=TIMEOUT_MS
    )
    first_line = reader_tab.locator(".jp-Cell").first.locator(".cm-line").first
    await first_line.click()
    await reader.page.keyboard.press("End")
    await reader.page.keyboard.press("Shift+Tab")
    tooltip = reader.page.locator(".jp-Tooltip")
    await expect(tooltip).to_contain_text("interact", timeout=TIMEOUT_MS)
