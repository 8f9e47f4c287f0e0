"""Shocks at a stated week (``shocks.*``, sim/shocks.py): nothing changes before the week, the
expected direction after it, and a clear error for a week outside the run."""

import numpy as np
import pandas as pd
import pytest

from sim.config import ConfigError, to_config
from sim.model import CareMarketModel

SMALL = {"council.n_users": 3000, "output.counterfactual": False}
WEEK = 8


def model(steps, **shocks):
    overrides = {f"shocks.{k}": v for k, v in shocks.items()}
    if shocks:
        overrides["shocks.week"] = WEEK
    return CareMarketModel(to_config(None, **SMALL, steps=steps, **overrides))


@pytest.fixture(scope="module")
def unshocked():
    return model(40).run()


@pytest.fixture(scope="module")
def series(unshocked):
    return unshocked.recorder.timeseries(unshocked)


SHOCKS = {"need": {"need_rise": 0.2}, "wage": {"wage_floor_rise": 1.5},
          "blocks": {"blocks_end": True},
          "all": {"need_rise": 0.2, "wage_floor_rise": 1.5, "blocks_end": True}}


@pytest.mark.parametrize("name", list(SHOCKS))
def test_before_the_shock_week_a_shocked_run_is_the_unshocked_run(series, name):
    m = model(WEEK, **SHOCKS[name]).run()
    ts = m.recorder.timeseries(m)
    before = ts["step"] < WEEK
    pd.testing.assert_frame_equal(ts[before], series[series["step"] < WEEK], check_exact=True)
    # ... and in the shock week it is not (the shock hit).
    at = series[series["step"] == WEEK].reset_index(drop=True)
    assert len(at) == 1 and not ts[~before].reset_index(drop=True).equals(at)


def test_wage_rise_raises_the_wage_and_providers_costs():
    m0, m1 = model(WEEK), model(WEEK, wage_floor_rise=1.5)
    for t in range(WEEK):
        m0.step()
        m1.step()
        if t == WEEK - 2:   # the week before: the same market
            np.testing.assert_array_equal(m0.providers.cost, m1.providers.cost)
    floor = m1.cfg.market.wage_floor + 1.5
    assert np.all(m1.wage >= floor) and np.all(m1.wage > m0.wage)
    p0, p1 = m0.providers, m1.providers
    both = np.flatnonzero(p0.active & p1.active & (p0.uid == p1.uid))
    paid = both[p0.cost[both] > p0.overhead[both]]          # providers with labour costs
    assert paid.size > 10
    assert np.all(p1.cost[paid] > p0.cost[paid])
    assert np.all(p1.unit_cost[paid] > p0.unit_cost[paid])


def test_need_rise_raises_need_now_and_demand_as_people_are_reviewed():
    m0, m1 = model(WEEK), model(WEEK, need_rise=0.2)
    m0.run(WEEK - 1)
    m1.run(WEEK - 1)
    present = m1.users.uid[m1.users.active].max()      # people present before the shock
    m0.step()
    m1.step()
    u0, u1 = m0.users, m1.users
    both = np.flatnonzero(u0.active & u1.active & (u0.uid == u1.uid) & (u0.uid <= present)
                          & (u0.need > 0) & (u1.total_need < 168))
    assert both.size > 1000
    assert np.all(u1.need[both] > u0.need[both])
    # Councils see it only when they assess: not reviewed since the shock, assessed need is
    # what it was.
    t_shock = m1.cfg.burn_in_weeks + WEEK
    waiting = both[u1.review_step[both] < t_shock]
    assert waiting.size > 0.8 * both.size
    np.testing.assert_array_equal(u1.assessed[waiting], u0.assessed[waiting])
    # A year on, most have been reviewed: packages, and the demand they make, have risen.
    for m in (m0, m1):
        m.run(52)
    hours = [m.users.mix[:, m.users.active].sum() for m in (m0, m1)]
    assert hours[1] > 1.1 * hours[0]
    ts0, ts1 = (m.recorder.timeseries(m) for m in (m0, m1))
    late = ts0["step"] > WEEK + 26
    assert ts1.loc[late, "spend_total"].sum() > 1.05 * ts0.loc[late, "spend_total"].sum()
    assert ts1.loc[late, "unmet_need_hours"].sum() > ts0.loc[late, "unmet_need_hours"].sum()


def test_blocks_end_ends_every_block_and_the_council_buys_at_spot(series):
    m = model(40, blocks_end=True).run()
    ts = m.recorder.timeseries(m)
    after = ts["step"] >= WEEK
    assert (series.loc[after, "block_volume_agency"] > 0).all()
    assert (ts.loc[after, "block_volume_agency"] == 0).all()      # and none signed again
    assert not (m.edges.block_volume[m.edges.active] > 0).any()
    # The council's hours that blocks covered are bought at spot.
    spot0 = series.loc[after, "spend_traditional_spot"].to_numpy()
    spot1 = ts.loc[after, "spend_traditional_spot"].to_numpy()
    assert np.all(spot1 > 2 * spot0)
    assert (ts.loc[after, "spend_traditional_idle_block"] == 0).all()


@pytest.mark.parametrize("week,steps,allowed", [(0, 52, "[1, 52]"), (53, 52, "[1, 52]"),
                                                (200, 156, "[1, 156]")])
def test_a_shock_week_outside_the_run_is_refused_naming_key_and_range(week, steps, allowed):
    with pytest.raises(ConfigError) as exc:
        to_config(None, **{"shocks.need_rise": 0.1, "shocks.week": week, "steps": steps})
    msg = str(exc.value)
    assert f"shocks.week={week} is out of range; allowed {allowed}" in msg
    assert "shocks.need_rise=0.1" in msg


def test_a_negative_shock_week_is_refused_by_its_range():
    with pytest.raises(ConfigError, match=r"shocks.week=-1 is out of range; allowed \[0, 5200\]"):
        to_config(None, **{"shocks.week": -1})


def test_shocks_are_off_by_default_and_a_week_alone_changes_nothing(series):
    cfg = to_config(None)
    assert (cfg.shocks.week, cfg.shocks.need_rise, cfg.shocks.wage_floor_rise,
            cfg.shocks.blocks_end) == (0, 0.0, 0.0, False)
    m = CareMarketModel(to_config(None, **SMALL, steps=12, **{"shocks.week": 5})).run()
    ts = m.recorder.timeseries(m)
    pd.testing.assert_frame_equal(ts, series[series["step"] <= 12], check_exact=True)
