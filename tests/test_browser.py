"""Every lesson as a student sees it: the student copies served by JupyterLab (127.0.0.1, a token, the course's own
settings), each one Run All in headless Chromium, no error or stderr box anywhere, and one explorer control of each
kind moved — a slider by keyboard, a dropdown to another option, a checkbox clicked — with the explorer showing a
new, complete result for each within a generous bound (tests/test_widgets.py drives every option in-process).
Screenshots of each explorer after its changes land in test-artifacts/, with the Run All, control and settle
times in test-artifacts/browser-settle-times.json.

Needs a Chromium binary (Debian's ``chromium``; ``.ci/run`` installs it) — Playwright's own browser download
cannot be used offline. Without one the test is skipped on a laptop and fails under CI.
"""
import json
import os
import re
import shutil
import time
import urllib.request
from pathlib import Path

import pytest
from helpers import TOKEN

pytestmark = pytest.mark.slow  # every lesson in a real browser: minutes
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
LESSONS = sorted(p.name for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUN_ALL_S = 400  # a lesson's Run All in the browser, on a slow CI machine
SETTLE_S = 90  # one explorer change, from the key press to the new result: generous, but catches a hang


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    return None


@pytest.fixture(scope="module")
def browser():
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium binary: .ci/run should have installed Debian's chromium package")
        pytest.skip("no chromium on this machine (install Debian's chromium package to run the browser test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def server(lab_server):
    """The session's JupyterLab (tests/conftest.py): fresh student copies, the course's settings (news off)."""
    return lab_server[0]


def shut_down_kernels(base: str) -> None:
    with urllib.request.urlopen(f"{base}/api/sessions?token={TOKEN}") as response:
        sessions = json.load(response)
    for session in sessions:
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}?token={TOKEN}", method="DELETE")
        urllib.request.urlopen(request).close()


RUN_DONE = """() => {
    const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
    if (!prompts.length || prompts.some(p => p.textContent.includes('*'))) return false;
    const errors = document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
    return errors.length > 0 || /\\d/.test(prompts[prompts.length - 1].textContent);
}"""


def summary_text(explorer) -> str:
    return " ".join(explorer.locator(".effedu-summary").all_inner_texts())  # no waiting: "" while it redraws


def wait_for_new_result(page, explorer, before: str) -> float:
    """Seconds until the explorer shows a complete result different from ``before`` (never "measuring")."""
    started = time.perf_counter()
    deadline = started + SETTLE_S
    while time.perf_counter() < deadline:
        text = summary_text(explorer)
        error = explorer.locator("text=Cannot measure")
        assert not error.count(), f"the explorer could not measure this setting: {explorer.inner_text()[:300]}"
        if text and text != before and "measuring" not in explorer.inner_text()[:200]:
            return time.perf_counter() - started
        page.wait_for_timeout(200)
    raise AssertionError(f"no new result within {SETTLE_S} s (still: {summary_text(explorer)[:200]})")


def move_one_control_of_each_kind(page, explorer) -> list[float]:
    """The first slider (by keyboard), dropdown (another option) and checkbox (a click) of the explorer: the
    front end's round trip for every kind of control. Every option of every control is driven in-process by
    tests/test_widgets.py; the browser proves the widgets, the kernel and the page talk."""
    settles = []
    sliders = [s for s in explorer.locator(".widget-hslider").all()
               if "disabled" not in (s.get_attribute("class") or "")]
    for slider in sliders[:1]:
        before = summary_text(explorer)
        handle = slider.locator(".noUi-handle")
        handle.focus()
        readout = slider.locator(".widget-readout").inner_text()
        page.keyboard.press("ArrowRight")
        page.wait_for_timeout(300)
        if slider.locator(".widget-readout").inner_text() == readout:  # at its maximum: go the other way
            page.keyboard.press("ArrowLeft")
        settles.append(wait_for_new_result(page, explorer, before))
    for select in explorer.locator(".widget-dropdown select").all()[:1]:
        before = summary_text(explorer)
        options = select.locator("option").all_inner_texts()
        current = select.evaluate("s => s.options[s.selectedIndex].text")
        choice = next(o for o in options if o != current)
        select.select_option(label=choice)
        settles.append(wait_for_new_result(page, explorer, before))
        shown = choice.replace("\xa0", " ")  # ipywidgets draws spaces in options as non-breaking spaces
        assert f"={shown}" in summary_text(explorer), (shown, summary_text(explorer))
    for box in explorer.locator(".widget-checkbox input").all()[:1]:
        before = summary_text(explorer)
        box.click()
        settles.append(wait_for_new_result(page, explorer, before))
    return settles


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_lesson_runs_and_every_explorer_control_answers(lesson, server, browser, lab_server):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        # a workspace of its own: JupyterLab would otherwise reopen the previous lessons' tabs beside this one
        page.goto(f"{server}/lab/workspaces/lesson{lesson[:2]}/tree/student/{lesson}?token={TOKEN}&reset")
        page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).wait_for(timeout=120_000)
        assert not page.get_by_text("Would you like to get notified").count()  # no news pop-up in class
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
        started = time.perf_counter()
        page.wait_for_function(RUN_DONE, timeout=RUN_ALL_S * 1000, polling=500)
        run_all_s = time.perf_counter() - started

        stderr = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
        assert stderr.count() == 0, f"{lesson}: a stderr or error box: {stderr.first.inner_text()[:500]}"
        shown = page.locator(".jp-Notebook").inner_text().replace(str(lab_server[1] / "cache"), "<cache>")
        assert "/tmp/" not in shown  # no temporary path of the kernel shown (the test's own cache folder aside)
        for check_output in page.locator(".jp-OutputArea-output", has_text=re.compile(r"\d\d\.\d: ")).all():
            assert "not answered yet" in check_output.inner_text() or "10.1" in check_output.inner_text()

        explorer = page.locator(".effedu-explorer").first
        explorer.scroll_into_view_if_needed()
        explorer.locator(".effedu-summary").wait_for(timeout=60_000)
        started = time.perf_counter()
        settles = move_one_control_of_each_kind(page, explorer)
        controls_s = time.perf_counter() - started
        assert settles, "the explorer has no control the test could move"
        assert explorer.locator("img.widget-image").count() == 1
        explorer.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"browser_{lesson[:2]}_explorer.png"), full_page=False)
        record = ARTIFACTS / "browser-settle-times.json"
        times = json.loads(record.read_text()) if record.exists() else {}
        times[lesson] = {"run_all_s": round(run_all_s, 1), "controls_s": round(controls_s, 1),
                         "slowest_s": round(max(settles), 2), "changes": len(settles)}
        record.write_text(json.dumps(times, indent=1))
    finally:
        page.close()
        shut_down_kernels(server)
