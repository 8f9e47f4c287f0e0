"""Invariants over random configurations: money, hours, shares."""

import numpy as np
import pytest

from sim.codes import DP, RESIDENTIAL
from sim.config import to_config
from sim.model import CareMarketModel

RNG = np.random.default_rng(20261123)
CONFIGS = [{
    "council.n_users": int(RNG.integers(300, 2500)), "steps": 30, "seed": int(RNG.integers(1e6)),
    "policy.pb_target": float(RNG.uniform(0.13, 0.9)),
    "policy.rollout_months": float(RNG.uniform(1, 24)),
    "policy.ras_affordability": float(RNG.uniform(0.7, 1.3)),
    "policy.block_wind_down": float(RNG.uniform(0, 4)),
    "policy.family_pay_rule": str(RNG.choice(["none", "non_resident", "any"])),
    "council.planning_staff": float(RNG.uniform(0, 10)),
    "market.price_adjust": float(RNG.uniform(0, 0.05)),
    "geography.n_councils": int(RNG.integers(1, 4)),
} for _ in range(6)]


@pytest.mark.parametrize("overrides", CONFIGS, ids=[f"cfg{i}" for i in range(len(CONFIGS))])
def test_invariants(overrides):
    m = CareMarketModel(to_config(None, **overrides))
    p, u = m.providers, m.users
    for _ in range(m.cfg.steps):
        m.step()
        hours = p.active & (p.ptype != RESIDENTIAL)
        assert (p.delivered[hours] <= p.capacity_cleared[hours] * (1 + 1e-9) + 1e-9).all()
        # Market options never deliver more than was asked for; family hours only come from an
        # active carer (a carer who burns out this week was paid for this week's hours).
        assert (u.delivered[:4, u.active] <= u.mix[:4, u.active] + 1e-9).all()
        paid = m.carers.paid[m.carers.active].sum()
        assert u.delivered[4, u.active].sum() <= paid + 1e-6 + u.delivered[4, u.active & (u.carer < 0)].sum()
    T = m.totals
    dp_held = u.dp_balance[u.active & (u.route == DP)].sum()
    received = (T["provider_revenue"] - T["self_spend"]) + T["family_received"] + T["planning"] \
        + T["brokerage"] + dp_held - T["dp_held_start"]
    # Recovered direct payments not yet booked against spend are still the council's money.
    carried = m.council.clawback_carry.sum() - T["clawback_carry_start"]
    assert T["council_net_spend"] - carried == pytest.approx(received, rel=1e-9)
    assert (ts_spend := m.recorder.timeseries(m)["spend_total"]).min() >= -1e-6 * ts_spend.abs().max()
    # Seller-side receipts agree with what providers booked.
    assert p.cum_revenue.sum() >= 0
    ts = m.recorder.timeseries(m)
    for col in ("pb_share", "target_share", "unmet_need_share", "utilisation", "qol_mean",
                "choice_mean", "carer_strain_mean", "labour_tightness"):
        v = ts[col].dropna()
        assert ((v >= 0) & (v <= 1 + 1e-9)).all() if col != "labour_tightness" else (v >= 0).all(), col
    assert (ts["hhi"].between(0, 10_000)).all()
    a = u.active & (u.route != 4)
    assert ((u.qol[a] >= 0) & (u.qol[a] <= 1)).all() and ((u.met[a] >= 0) & (u.met[a] <= 1)).all()


def test_a_table_reuses_its_lowest_free_rows_first():
    """Entrants take the lowest unused rows (what a full scan would give), whatever the order
    of removals and growth."""
    from sim.state import Table

    rng = np.random.default_rng(5)
    t = Table({"x": (np.float64, 0.0)}, 16)
    for _ in range(300):
        if rng.random() < 0.55 or not t.active.any():
            n = int(rng.integers(1, 40))
            expect = np.flatnonzero(~t.active)[:n]
            rows = t.add(n)
            assert np.array_equal(rows[:expect.size], expect)
            assert rows.size == n and t.active[rows].all()
        else:
            live = np.flatnonzero(t.active)
            t.remove(rng.choice(live, size=min(live.size, int(rng.integers(1, 30))),
                                replace=False))


def test_a_claimed_row_always_starts_at_its_fill_values():
    """Rows handed out by ``add`` hold the schema's fill values, whether they were never used
    (no reset needed) or used and removed (reset), across growth and partial resets on
    removal; the reset for fresh rows is skipped, not the fill."""
    from sim.state import Table

    rng = np.random.default_rng(9)
    t = Table({"x": (np.float64, 1.5), "k": (np.int32, -1), "m": (np.float64, 0.0, 3)}, 16)
    t.reset_on_remove = ("k",)              # x and m keep stale values on removal
    for _ in range(200):
        if rng.random() < 0.6 or not t.active.any():
            rows = t.add(int(rng.integers(1, 25)))
            assert (t.x[rows] == 1.5).all() and (t.k[rows] == -1).all()
            assert (t.m[:, rows] == 0.0).all()
            t.x[rows], t.k[rows], t.m[:, rows] = rng.random(rows.size), 7, 2.0
        else:
            live = np.flatnonzero(t.active)
            t.remove(rng.choice(live, size=min(live.size, int(rng.integers(1, 20))),
                                replace=False))
    assert t.size > 16                                   # it grew along the way
