"""Council state and council decisions: rollout schedule, block contracts, budget and eligibility.

Councils are few (1 to 152), so their state is a handful of short arrays; the ``Council``
Mesa agent is a view over one index of them.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from .codes import AGENCY, DAY, N_TYPES, RESIDENTIAL, WEEKS_PER_YEAR
from .labour import start_cost_floor
from .week import Column, Phase, Week


class CouncilState:
    """Per-council arrays (index = council code)."""

    def __init__(self, cfg, rng):
        g, cc, pol = cfg.geography, cfg.council, cfg.policy
        n = g.n_councils
        self.n = n
        size = cc.n_users * rng.lognormal(-g.size_sigma**2 / 2, g.size_sigma, n) if g.size_sigma \
            else np.full(n, float(cc.n_users))
        self.n_users0 = np.maximum(np.round(size), 1).astype(np.int64)
        self.names = [cc.name] if n == 1 else [f"{cc.name} {i + 1:03d}" for i in range(n)]
        spread = (lambda s: rng.lognormal(-s**2 / 2, s, n) if s else np.ones(n))
        self.budget_factor = spread(g.budget_sigma)
        self.planning_staff = cc.planning_staff * spread(g.planning_sigma) * self.n_users0 / cc.n_users
        self.brokers = cc.brokers * self.n_users0 / cc.n_users
        noise = rng.normal(0, g.uptake_sigma, n) if g.uptake_sigma else np.zeros(n)
        self.pb_start = np.clip(pol.pb_share_start + noise, 0, pol.pb_target)
        self.pb_target = np.full(n, pol.pb_target)
        self.rollout_weeks = pol.rollout_months * WEEKS_PER_YEAR / 12.0
        self.enforcement = np.full(n, pol.target_enforcement)
        self.threshold = np.full(n, cc.eligibility_threshold)
        self.block_price = np.zeros((n, N_TYPES))
        self.block_price[:, AGENCY] = cc.block_price_agency
        self.block_price[:, DAY] = cc.block_price_day
        self.block_price[:, RESIDENTIAL] = cc.block_price_residential
        # No provider signs a contract below its costs at the starting wage.
        self.block_price = np.maximum(self.block_price, start_cost_floor(cfg))
        self.budget_week = np.full(n, np.nan)   # set from the first week's spend
        self.spend_ema = np.zeros(n)
        # The council's purchases per (council, type) market in the latest week (units; beds
        # for care homes): what block contracts are sized against.  Set at start and by the
        # purchase phase.
        self.trad_units = np.zeros(n * N_TYPES)
        # Recovered direct payments not yet booked against spend (£; see accounting.accounts).
        self.clawback_carry = np.zeros(n)
        self.conv_wait_sum = np.zeros(n)
        self.conversions = np.zeros(n, dtype=np.int64)
        self.burnouts_total = np.zeros(n, dtype=np.int64)
        # Geography: councils on a unit square, neighbours within a radius (networkx).
        self.graph = nx.random_geometric_graph(n, g.neighbour_radius, seed=int(rng.integers(2**31)))
        cfg_c = cc
        self.max_in_planning = (self.planning_staff * cfg_c.planner_hours_per_week
                                / cfg_c.planner_hours_per_plan * cfg_c.planning_duration_weeks)
        self.broker_capacity = self.brokers * cfg_c.brokerage_caseload

    def target_share(self, t):
        """Rollout schedule: linear from the starting share to the target over rollout_weeks."""
        frac = min(1.0, t / self.rollout_weeks) if self.rollout_weeks > 0 else 1.0
        return self.pb_start + (self.pb_target - self.pb_start) * frac

    def neighbours(self, c):
        return list(self.graph.neighbors(int(c)))


def manage_blocks(model, week: Week):
    """Wind down surplus block volume; renew or end contracts at expiry.

    A block contract's volume beyond what the council still needs (``block_share`` of last
    week's council purchases, ``CouncilState.trad_units``) is cut at ``policy.block_wind_down``
    per year.
    """
    cfg, e, t = model.cfg, model.edges, week.t
    trad_units = model.council.trad_units
    rows = np.flatnonzero(e.active & (e.block_volume > 0))
    if rows.size == 0:
        return
    m = e.council[rows] * N_TYPES + model.providers.ptype[e.provider[rows]]
    n_m = model.council.n * N_TYPES
    vol_m = np.bincount(m, e.block_volume[rows], n_m)
    wanted = cfg.council.block_share * np.ravel(trad_units)
    surplus = np.maximum(vol_m - wanted, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        cut_share = np.where(vol_m > 0, surplus / vol_m, 0.0)
    rate = min(1.0, cfg.policy.block_wind_down / WEEKS_PER_YEAR)
    e.block_volume[rows] *= 1 - rate * cut_share[m]
    # Care-home blocks are wound down the same way against the council's residents.
    expiring = rows[e.block_end[rows] <= t]
    if expiring.size:
        if cfg.policy.renew_blocks:
            me = m[np.isin(rows, expiring)]
            with np.errstate(invalid="ignore", divide="ignore"):
                right = np.where(vol_m[me] > 0, np.minimum(1.0, wanted[me] / vol_m[me]), 0.0)
            e.block_volume[expiring] *= right
            e.block_price[expiring] = model.council.block_price[
                e.council[expiring], model.providers.ptype[e.provider[expiring]]]
            e.block_end[expiring] = t + cfg.council.block_duration_weeks
        else:
            e.block_volume[expiring] = 0.0


def uplift_fees(model, week: Week):
    """Once a year councils raise their fee rates; running contracts keep their price."""
    if week.t % int(WEEKS_PER_YEAR) == 0:
        model.council.block_price *= 1 + model.cfg.council.fee_uplift


def budget_response(model, week: Week):
    """Councils that overspend their envelope tighten eligibility; underspend relaxes it."""
    C, cc = model.council, model.cfg.council
    spend = week.ledger.council_net_spend
    if np.isnan(C.budget_week).any():
        C.budget_week = spend * C.budget_factor * (1 + cc.budget_headroom)
        C.spend_ema = spend.astype(float).copy()
    else:
        w = cc.spend_smoothing
        C.spend_ema = (1 - w) * C.spend_ema + w * spend
        over = C.spend_ema > C.budget_week
        under = C.spend_ema < cc.underspend_band * C.budget_week
        C.threshold = np.where(over, np.minimum(C.threshold + cc.eligibility_response,
                                                np.maximum(cc.eligibility_max,
                                                           cc.eligibility_threshold)),
                               np.where(under, np.maximum(C.threshold - cc.eligibility_response,
                                                          cc.eligibility_threshold), C.threshold))
    week.put("eligibility_threshold", C.threshold.copy())


FEES = Phase("fees", uplift_fees, reads="week number, council.fee_uplift",
             writes="council fee rates (block_price), once a year")
BLOCKS = Phase("blocks", manage_blocks,
               reads="block contracts (edges), last week's council purchases (trad_units)",
               writes="block volumes, prices and end dates of contracts")
COUNCIL_BUDGET = Phase(
    "council_budget", budget_response, reads="the week's council net spend (ledger)",
    writes="councils' smoothed spend and eligibility threshold",
    columns=(Column("eligibility_threshold", "hours/week",
                    "need below which a new entrant is not council-funded", scale=False),))
