"""A real browser: JupyterLab on 127.0.0.1 with a token, lesson 03 run top to bottom in headless Chromium, one
slider moved, and the explorer's number and plot seen to change. Saves screenshots to test-artifacts/.

Needs a Chromium binary (Debian's ``chromium``; ``.ci/run`` installs it) — Playwright's own browser download
cannot be used offline. Without one the test is skipped on a laptop and fails under CI.
"""
import os
import re
import shutil
import sys
from pathlib import Path

import pytest

from helpers import TOKEN, jupyter_server

pytestmark = pytest.mark.slow  # a JupyterLab server (and a browser): tens of seconds
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
LESSON = "03_group_conv_shuffle.ipynb"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        if found := shutil.which(name):
            return found
    return None


@pytest.fixture
def browser_page(tmp_path):
    executable = chromium_path()
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("no chromium binary: .ci/run should have installed Debian's chromium package")
        pytest.skip("no chromium on this machine (install Debian's chromium package to run the browser test)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            yield page
        finally:
            browser.close()


def test_lesson_explorer_remeasures_when_a_slider_moves(tmp_path, browser_page):
    page = browser_page
    served = tmp_path / "served"
    served.mkdir()
    shutil.copy(ROOT / "notebooks" / LESSON, served / LESSON)  # autosave must never write into the repo
    command = [sys.executable, "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1", f"--ServerApp.root_dir={served}"]
    if getattr(os, "geteuid", lambda: 1)() == 0:
        command.append("--allow-root")
    ARTIFACTS.mkdir(exist_ok=True)
    with jupyter_server(command, tmp_path, served) as base:
        page.goto(f"{base}/lab/tree/{LESSON}?token={TOKEN}")
        # The toolbar says "idle" before a kernel exists; the status bar names the kernel only once connected.
        page.get_by_text(re.compile(r"Python 3 \(ipykernel\) \| Idle")).wait_for(timeout=120_000)

        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()

        summary = page.locator(".effedu-summary")
        summary.wait_for(timeout=240_000)
        explorer_plot = page.locator("img.widget-image").last
        explorer_plot.wait_for(timeout=60_000)
        before_text, before_plot = summary.inner_text(), explorer_plot.get_attribute("src")
        assert "groups=3" in before_text
        page.screenshot(path=str(ARTIFACTS / "browser_lesson03_before.png"), full_page=False)

        slider = page.locator(".widget-hslider", has=page.locator("label", has_text=re.compile("^groups")))
        slider.locator(".noUi-handle").focus()
        page.keyboard.press("ArrowRight")  # groups 3 → 4; the explorer measures on release

        page.locator(".effedu-summary", has_text="groups=4").wait_for(timeout=60_000)
        page.wait_for_function(
            "previous => { const imgs = document.querySelectorAll('img.widget-image');"
            " return imgs.length && imgs[imgs.length - 1].src !== previous; }", arg=before_plot, timeout=60_000)
        after_text = page.locator(".effedu-summary").inner_text()
        page.locator(".effedu-summary").scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser_lesson03_after.png"), full_page=False)

    assert after_text != before_text and "groups=4" in after_text
    assert re.search(r"group 1×1: [\d.]+ ms", after_text)
    assert (ARTIFACTS / "browser_lesson03_after.png").stat().st_size > 10_000
