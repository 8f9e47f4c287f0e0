"""The live dashboard: its model and figures, and the page in a real headless browser (Debian's
Chromium driven by Playwright)."""

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from sim.dashboard_server import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="chromium not installed")


def test_dashboard_page_builds_without_a_server():
    import sim.app as app
    from sim.dashboard import CHARTS, charts, headline

    assert app.page is not None
    m = app.DashboardModel(pb_target=50, n_users=500)
    assert m.cfg.policy.pb_target == 0.5
    # Before the first week: cards say what they wait for; the page shows no chart yet.
    assert [c["key"] for c in headline(m)] == ["pb", "spend", "worse", "providers", "unmet"]
    for _ in range(3):
        m.step()
    assert "spend_personal_budgets" in m.datacollector.get_model_vars_dataframe().columns
    assert all(len(v) == 3 for v in m.history.values())
    cards = headline(m)
    assert all(c["unit"] and c["value"] != "—" for c in cards), cards
    assert "target 50%" in cards[0]["lines"][0]
    options = charts(m)
    assert list(options) == list(CHARTS)
    for name, option in options.items():
        assert option["title"]["text"] and option["title"]["subtext"], name   # title and unit
        assert option["yAxis"]["name"], name
        dates = option["dataset"]["source"]["date"]
        assert dates == ["2010-04-05", "2010-04-12", "2010-04-19"], name     # calendar dates
        assert all(len(v) == 3 for v in option["dataset"]["source"].values()), name
    assert any("without the rollout" in s["name"] for s in options["uptake"]["series"])
    assert len(options["market"]["series"]) == 6      # five provider types + counterfactual


def test_the_counterfactual_steps_in_lockstep_as_the_summary_builds_it():
    """The dashboard's counterfactual is the one ``sim.counterfactual`` runs: same seed, no
    rollout, the same weeks."""
    from sim.counterfactual import run_counterfactual
    from sim.dashboard import DashboardModel

    m = DashboardModel(n_users=500, seed=4)
    for _ in range(6):
        m.step()
    cf = m.counterfactual
    assert not cf.cfg.policy.rollout and cf.cfg.seed == m.cfg.seed == 4 and cf.steps == 6
    ref = run_counterfactual(m)
    a, b = cf.recorder.timeseries(cf), ref.recorder.timeseries(ref)
    np.testing.assert_array_equal(a["spend_total"], b["spend_total"])
    np.testing.assert_array_equal(a["pb_share"], b["pb_share"])
    w = m.worse_off()
    assert 0 <= w["movers_worse"] <= w["worse"] <= w["compared"]
    assert m.history["worse_worse"][-1] == w["worse"]


def test_every_scenario_sits_on_its_levers_sliders():
    """A scenario's values lie on each slider's range and steps (a slider would otherwise move
    them when the page draws it)."""
    from sim.dashboard import LEVERS, SCENARIOS, scenario_levers

    for name in SCENARIOS:
        values = scenario_levers(name)
        for lever in LEVERS:
            v = values[lever.name]
            if lever.kind == "select":
                assert v in lever.values, (name, lever.name, v)
                continue
            assert lever.min <= v <= lever.max, (name, lever.name, v)
            k = (v - lever.min) / lever.step
            assert abs(k - round(k)) < 1e-6, (name, lever.name, v)


@pytest.fixture()
def server():
    from sim.dashboard_server import serve

    with serve() as url:
        yield url


def _cards(page) -> dict:
    return {key: page.locator(f".dash-card-{key}").inner_text()
            for key in ("pb", "spend", "worse", "providers", "unmet")}


def _week(page) -> int:
    m = re.search(r"Week (\d+)", page.locator(".dash-status").inner_text())
    return int(m.group(1)) if m else 0


def _charts(page) -> list[str]:
    """Each chart's canvas as a data URL (what is drawn)."""
    return page.eval_on_selector_all(".dash-chart canvas", "cs => cs.map(c => c.toDataURL())")


@needs_chromium
def test_levers_play_cards_and_charts_without_console_errors(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server, wait_until="networkidle")
        page.get_by_role("button", name="STEP").wait_for(timeout=60_000)

        # Before the first week: a 'press play' message, no empty axes.
        assert page.locator(".dash-press-play").is_visible()
        assert page.locator(".dash-chart").count() == 0
        start = _cards(page)
        assert "target 30%" in start["pb"]

        # A lever shows its value and unit; moving it and applying restarts the run with it.
        lever = page.locator(".dash-lever-pb_target")
        assert "PB target: 30 % of funded users at home" in lever.inner_text()
        slider = lever.get_by_role("slider")
        slider.focus()
        for _ in range(10):
            slider.press("ArrowRight")
        page.wait_for_function("() => document.querySelector('.dash-lever-pb_target')"
                               ".innerText.includes('PB target: 40')", timeout=10_000)
        page.get_by_role("button", name="Apply levers (restart)").click()
        page.wait_for_function("() => document.querySelector('.dash-card-pb')"
                               ".innerText.includes('target 40%')", timeout=30_000)
        assert page.get_by_role("button", name="Apply levers (restart)").is_disabled()

        # Play, pause: the cards and the charts fill in, with dates.
        page.get_by_role("button", name="▶").click()
        page.wait_for_function("() => /Week ([1-9][0-9])/.test("
                               "document.querySelector('.dash-status').innerText)",
                               timeout=60_000)
        page.get_by_role("button", name="❚❚").click()
        page.wait_for_function("() => document.querySelectorAll('.dash-chart canvas')"
                               ".length === 6", timeout=30_000)
        page.wait_for_timeout(1500)       # the charts catch up with the last week
        played = _cards(page)
        first = _charts(page)
        assert all(played[k] != start[k] for k in ("spend", "worse", "unmet")), played
        assert "without the rollout" in played["pb"]
        assert "2010" in page.locator(".dash-status").inner_text()
        week = _week(page)
        assert week >= 10

        # Another few weeks: the cards and every chart change.
        for _ in range(3):
            page.get_by_role("button", name="STEP").click()
            page.wait_for_timeout(400)
        page.wait_for_function(f"() => document.querySelector('.dash-status').innerText"
                               f".includes('Week {week + 3} ')", timeout=30_000)
        page.wait_for_timeout(1500)
        later = _cards(page)
        assert later != played
        assert all(a != b for a, b in zip(first, _charts(page), strict=True))

        # Reset to a named scenario: its levers come back, and the run restarts.
        page.get_by_label("Scenario").first.click(force=True)
        page.get_by_role("option", name="quick_fix").click()
        page.wait_for_function("() => document.querySelector('.dash-status')"
                               ".innerText.includes('scenario quick_fix')", timeout=30_000)
        assert "Support planners: 1.5 FTE" in page.locator(".dash-lever-planning_staff").inner_text()
        assert _week(page) == 0
        page.locator(".dash-press-play").wait_for(timeout=10_000)
        browser.close()
    assert errors == [], errors
