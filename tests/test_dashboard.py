"""The live dashboard in a real headless browser (Debian's Chromium driven by Playwright)."""

import os
import shutil
from pathlib import Path

import pytest

from sim.dashboard_server import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium not installed")


def test_dashboard_page_builds_without_a_server():
    import sim.app as app
    assert app.page is not None
    m = app.DashboardModel(pb_target=0.5, n_users=500)
    m.step()
    assert m.cfg.policy.pb_target == 0.5
    assert "spend_personal_budgets" in m.datacollector.get_model_vars_dataframe().columns


@pytest.fixture()
def server():
    from sim.dashboard_server import serve

    with serve() as url:
        yield url


def test_lever_and_step_change_the_plot_without_console_errors(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server, wait_until="networkidle")
        page.get_by_role("button", name="STEP").wait_for(timeout=60_000)
        plot = page.locator("img").first
        before = plot.get_attribute("src")
        # Raise the PB target (third slider: after play and render intervals).
        slider = page.get_by_role("slider").nth(2)
        target_before = slider.get_attribute("aria-valuenow")
        slider.focus()
        for _ in range(6):
            slider.press("ArrowRight")
        page.wait_for_timeout(1500)
        target_after = slider.get_attribute("aria-valuenow")
        for _ in range(3):
            page.get_by_role("button", name="STEP").click()
            page.wait_for_timeout(800)
        page.wait_for_function("(s) => document.querySelector('img') && "
                               "document.querySelector('img').src !== s", arg=before,
                               timeout=30_000)
        after = plot.get_attribute("src")
        browser.close()
    assert float(target_after) > float(target_before)
    assert after != before
    assert errors == [], errors
