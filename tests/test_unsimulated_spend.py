"""The spend on lines the model does not simulate (issue 14: England's £16.8bn): an input,
``council.other_services_per_user_week`` per council-funded person at the start, booked as
``spend_other_services``.  It must add exactly its amount, move nothing else (no budget,
decision or other money flow sees it), and be zero wherever it is off (the pilots)."""

import numpy as np
import pytest

from sim import targets
from sim.codes import DP, WEEKS_PER_YEAR
from sim.config import compose
from sim.councils import read_councils
from sim.model import CareMarketModel

STEPS = 4
#: A small England-shaped run (synthetic councils, the England scenario's people and rate).
SMALL_ENGLAND = ("scenario=england", "geography.n_councils=4", "council.n_users=800",
                 f"steps={STEPS}", "output.figures=false", "output.counterfactual=false")


def _run(*extra):
    m = CareMarketModel(compose(*SMALL_ENGLAND, *extra))
    for _ in range(STEPS):
        m.step()
    return m, m.recorder.timeseries(m)


@pytest.fixture(scope="module")
def on():
    return _run()


@pytest.fixture(scope="module")
def off():
    return _run("council.other_services_per_user_week=0")


def test_the_line_adds_exactly_its_amount(on):
    m, ts = on
    rate = m.cfg.council.other_services_per_user_week
    assert rate > 0
    people = m.council.n_users0.sum()
    expected = rate * people * STEPS
    assert ts["spend_other_services"].sum() == pytest.approx(expected, rel=1e-12)
    assert m.totals["other_services"] == pytest.approx(expected, rel=1e-12)
    # The same every week, whatever the run does.
    weekly = ts.groupby("step")["spend_other_services"].sum()
    assert np.allclose(weekly, rate * people, rtol=1e-12)


def test_nothing_else_moves_and_money_still_balances(on, off):
    (m_on, ts_on), (m_off, ts_off) = on, off
    assert (ts_off["spend_other_services"] == 0).all() and m_off.totals["other_services"] == 0
    others = [c for c in ts_on.columns if c != "spend_other_services"]
    # Same seed, same run: the input is outside spend_total and the budgets.
    assert ts_on[others].equals(ts_off[others])
    T, u = m_on.totals, m_on.users
    received = (T["provider_revenue"] - T["self_spend"]) + T["family_received"] + T["planning"] \
        + T["brokerage"] + u.dp_balance[u.active & (u.route == DP)].sum() - T["dp_held_start"]
    carried = m_on.council.clawback_carry.sum() - T["clawback_carry_start"]
    assert T["council_net_spend"] - carried == pytest.approx(received, rel=1e-9)


@pytest.mark.parametrize("scenario", ["default", "west_sussex_pilot", "personal_best_2010",
                                      "quick_fix", "making_it_personal",
                                      "day_centre_tipping"])
def test_off_in_the_pilots(scenario):
    assert compose(f"scenario={scenario}").council.other_services_per_user_week == 0


def test_england_rate_books_the_published_remainder():
    """The England rate times the council file's people over a year is the registry's
    published remainder (the £16.8bn less the residential, home-care and day-care lines)."""
    d = read_councils("england_councils_2009.csv")
    people = (np.maximum(np.round(d["community"]) + np.round(d["funded_residents"]), 1)).sum()
    rate = compose("scenario=england").council.other_services_per_user_week
    t = targets.get("england_unsimulated_spend_2009_10")
    assert rate * people * WEEKS_PER_YEAR == pytest.approx(t.value, rel=t.tolerance)
    parts = {i: targets.get(i).value for i in ("england_residential_gross_cost_2009_10",
                                                 "england_home_care_gross_cost_2009_10",
                                                 "england_day_care_gross_cost_2009_10")}
    assert t.value + sum(parts.values()) == pytest.approx(
        targets.get("england_gross_spend_2009_10").value, abs=1_000)
