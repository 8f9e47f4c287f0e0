"""Who is in the model: creating users and carers, entry, exit and need progression.

All draws are vectorised over the users concerned and use the model's numpy Generator, so a
run is reproducible from its seed.
"""

from __future__ import annotations

import numpy as np

from . import passes
from .accounting import Ledger, return_balances
from .codes import HOURS_PER_WEEK, RES, RESIDENTIAL, SELF, TRAD, WEEKS_PER_YEAR
from .config import GROUPS
from .planning import compose_mix
from .state import small_keys
from .week import Column, Phase, Week


def group_arrays(cfg):
    """Per-group parameters as arrays indexed by group code (order of config.GROUPS)."""
    g = [getattr(cfg.users.groups, name) for name in GROUPS]
    names = ("share", "need_mean_hours", "need_cv", "personal_care_share", "carer_prob",
             "exit_rate", "residential_rate", "need_growth")
    arrays = {n: np.array([getattr(x, n) for x in g], dtype=float) for n in names}
    # Cumulative shares, to draw groups by inverting the CDF of a uniform draw.
    cdf = (arrays["share"] / arrays["share"].sum()).cumsum()
    arrays["share_cdf"] = cdf / cdf[-1]
    return arrays


def draw_need(rng, mean, cv):
    """Lognormal need with the given mean and coefficient of variation (hours/week)."""
    sigma2 = np.log1p(cv**2)
    mu = np.log(mean) - sigma2 / 2
    return rng.lognormal(mu, np.sqrt(sigma2))


def create_users(model, council: np.ndarray, route: np.ndarray, rng) -> np.ndarray:
    """Add users (one per entry of ``council``) with drawn group, need, preferences and carers."""
    cfg, u, G = model.cfg, model.users, model.groups
    n = council.size
    rows = u.add(n)
    group = G["share_cdf"].searchsorted(rng.random(n), side="right").astype(np.int8)
    u.council[rows] = council
    u.group[rows] = group
    u.route[rows] = route
    # Need is drawn as assessed eligible need (what councils record); draws under the
    # eligibility threshold are redrawn, as such people would not be on the caseload.
    scale = cfg.users.need_scale
    need = draw_need(rng, scale * G["need_mean_hours"][group], G["need_cv"][group])
    floor = cfg.council.eligibility_threshold
    for _ in range(5):
        low = need < floor
        if not low.any():
            break
        need[low] = draw_need(rng, scale * G["need_mean_hours"][group[low]],
                              G["need_cv"][group[low]])
    u.total_need[rows] = np.minimum(np.maximum(need, floor), HOURS_PER_WEEK)
    us = cfg.users
    u.pc_share[rows] = np.clip(G["personal_care_share"][group] + rng.normal(0, us.pc_share_sd, n),
                               us.pc_share_min, us.pc_share_max)
    u.fit[:, rows] = rng.beta(cfg.users.fit_alpha, cfg.users.fit_beta, size=(5, n))
    u.autonomy[rows] = rng.beta(cfg.users.autonomy_alpha, cfg.users.autonomy_beta, n)
    u.rebuy_draw[rows] = rng.random(n)
    u.review_step[rows] = model.steps - rng.integers(0, cfg.council.review_interval_weeks, n)
    has_carer = rng.random(n) < G["carer_prob"][group]
    has_carer &= route != RES
    add_carers(model, rows[has_carer], rng)
    carer = u.carer[rows]
    # Family care comes on top of the eligible need: total need includes it.
    del carer
    u.total_need[rows] = np.minimum(u.total_need[rows] + u.informal[rows], HOURS_PER_WEEK)
    refresh_need(model, rows)
    u.assessed[rows] = u.need[rows]
    draw_exit_steps(model, rows)
    u.shock_step[rows] = model.steps + _waiting_time(rng, cfg.users.need_shock_rate, n)
    return rows


def add_carers(model, user_rows: np.ndarray, rng):
    cc, c, u = model.cfg.carers, model.carers, model.users
    k = user_rows.size
    rows = c.claim(user_rows)
    c.user[rows] = user_rows
    c.available[rows] = rng.gamma(cc.available_shape, cc.available_hours_mean / cc.available_shape, k)
    # Beta(a, b) with mean informal_share.
    a = cc.informal_beta * cc.informal_share / max(1 - cc.informal_share, 1e-6)
    c.informal[rows] = c.available[rows] * rng.beta(max(a, 1e-3), cc.informal_beta, k)
    c.same_household[rows] = rng.random(k) < cc.same_household_prob
    c.strain[rows] = np.clip(rng.normal(cc.strain_start_mean, cc.strain_start_sd, k), 0,
                             cc.strain_start_max)
    u.carer[user_rows] = rows
    u.informal[user_rows] = c.informal[rows]


def refresh_need(model, rows=None):
    """Eligible formal need = total need minus what an active family carer gives unpaid
    (for ``rows``, or every row at once)."""
    u = model.users
    if rows is None:
        np.subtract(u.total_need, u.informal, out=u.need)
        np.maximum(u.need, 0.0, out=u.need)
    else:
        u.need[rows] = np.maximum(u.total_need[rows] - u.informal[rows], 0.0)


def initial_population(model, rng):
    """Council-funded users (community + residential) and self-funders for every council."""
    cfg = model.cfg
    sizes = model.council.n_users0
    council = np.repeat(np.arange(sizes.size, dtype=np.int32), sizes)
    res = rng.random(council.size) < cfg.users.residential_share
    route = np.where(res, RES, TRAD).astype(np.int8)
    rows = create_users(model, council, route, rng)
    community = rows[~res]
    # Self-funders buy their own care in the same market.
    n_self = rng.poisson(cfg.users.self_funder_ratio * np.bincount(
        model.users.council[community], minlength=sizes.size))
    sf = create_users(model, np.repeat(np.arange(sizes.size, dtype=np.int32), n_self),
                      np.full(n_self.sum(), SELF, np.int8), rng)
    return rows, sf


def _waiting_time(rng, annual_rate, size):
    """Weeks until an event with a constant annual hazard (geometric, at least one week)."""
    p = 1 - np.exp(-np.asarray(annual_rate, dtype=float) / WEEKS_PER_YEAR)
    return np.where(p > 0, rng.geometric(np.clip(p, 1e-12, 1.0), size), 2**30).astype(np.int32)


def draw_exit_steps(model, rows):
    """Next exit of these users from their group's hazard (``users.residential_exit_mult``
    times it in a care home)."""
    u, G = model.users, model.groups
    rate = G["exit_rate"][u.group[rows]] * np.where(u.route[rows] == RES,
                                                    model.cfg.users.residential_exit_mult, 1.0)
    u.exit_step[rows] = model.steps + _waiting_time(model.rng, rate, rows.size)


def remove_users(model, ledger: Ledger, rows, count_exit=True):
    """People leave the model (death, moving away; or turned away at entry if not
    ``count_exit``): direct-payment balances go back, their carers stop, rows are freed."""
    if rows.size == 0:
        return
    u = model.users
    if count_exit:
        return_balances(model, ledger, rows)
    carers = u.carer[rows]
    model.carers.remove(carers[carers >= 0])
    u.carer[rows] = -1
    u.remove(rows)
    model.drop_user_agents(rows)


def place_in_residential(model, ledger: Ledger, movers):
    """Move users into care homes with a free bed in their council; others stay at home."""
    u, p, rng = model.users, model.providers, model.rng
    homes = np.flatnonzero(p.active & (p.ptype == RESIDENTIAL))
    occ = passes.residents_per_home(users=u, n_providers=p.capacity.size)
    vac = np.maximum(np.floor(p.capacity[homes] - occ[homes]), 0).astype(int)
    slots = np.repeat(homes, vac)
    if slots.size == 0:
        return
    # Free beds in random order, then grouped by council (a stable radix sort on a
    # small-integer key keeps the random order within each council).
    slots = slots[rng.permutation(slots.size)]
    slot_council = p.home[slots]
    order = np.argsort(small_keys(slot_council, model.council.n), kind="stable")
    slots, slot_council = slots[order], slot_council[order]
    n_c = model.council.n
    start_s = np.searchsorted(slot_council, np.arange(n_c))
    count_s = np.bincount(slot_council, minlength=n_c)
    movers = movers[np.argsort(u.council[movers], kind="stable")]
    mc = u.council[movers]
    rank = np.arange(movers.size) - np.searchsorted(mc, np.arange(n_c))[mc]
    ok = rank < count_s[mc]
    placed, home = movers[ok], slots[start_s[mc[ok]] + rank[ok]]
    return_balances(model, ledger, placed)
    carers = u.carer[placed]
    model.carers.remove(carers[carers >= 0])
    u.carer[placed] = -1
    u.informal[placed] = 0.0
    u.route[placed] = RES
    u.in_queue[placed] = False
    u.planning_until[placed] = -1
    u.mix[:, placed] = 0.0
    u.delivered[:, placed] = 0.0
    u.main_provider[placed] = home
    draw_exit_steps(model, placed)


def demography(model, week: Week):
    """Entrants arrive, users leave (death/moving away/residential), needs progress."""
    cfg, u, rng, G = model.cfg, model.users, model.rng, model.groups
    # Exits and need progression (drift plus occasional step increases), one pass over all rows.
    t = week.t
    leaving, shocked, high = passes.exits_and_need(
        users=u, t=t, drift=G["need_growth"] / WEEKS_PER_YEAR,
        shock_size=cfg.users.need_shock_size,
        residential_threshold=cfg.users.residential_need_threshold)
    left = np.bincount(u.council[leaving], minlength=model.council.n)
    u.shock_step[shocked] = t + _waiting_time(rng, cfg.users.need_shock_rate, shocked.size)
    remove_users(model, week.ledger, leaving)

    # Moves to residential care: high-need community users, if a bed is free in their council.
    p = 1 - np.exp(-G["residential_rate"][u.group[high]] / WEEKS_PER_YEAR)
    movers = high[rng.random(high.size) < p]
    if movers.size:
        place_in_residential(model, week.ledger, movers)

    # Entrants: incidence replaces those who left, so each council's caseload is stationary in
    # expectation (assumption; growth in demand is a scenario, not a default).
    n_c = model.council.n_users0
    n_new = rng.poisson(left)
    council = np.repeat(np.arange(n_c.size, dtype=np.int32), n_new)
    rows = create_users(model, council, np.full(council.size, TRAD, np.int8), rng)
    # Means test: a share of entrants fund themselves; below the eligibility threshold, nobody
    # is council-funded (they buy their own care or go without: counted as turned away).
    sf_p = cfg.users.self_funder_ratio / (1 + cfg.users.self_funder_ratio)
    self_funded = rng.random(rows.size) < sf_p
    below = u.need[rows] < model.council.threshold[u.council[rows]]
    u.route[rows[self_funded]] = SELF
    turned = rows[below & ~self_funded]
    week.put("turned_away", np.bincount(u.council[turned], minlength=n_c.size))
    remove_users(model, week.ledger, turned, count_exit=False)
    compose_mix(model, rows[~below | self_funded])


DEMOGRAPHY = Phase(
    "demography", demography,
    reads="people's exit and need-shock weeks, need, group; care-home beds; eligibility",
    writes="need progression; leavers removed (DP balances returned, ledger); moves into care "
           "homes; entrants created (with carers) and their support composed",
    columns=(Column("turned_away", "people",
                    "entrants below the eligibility threshold, not council-funded"),))

