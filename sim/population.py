"""Who is in the model: creating users and carers, entry, exit and need progression.

All draws are vectorised over the users concerned and use the model's numpy Generator, so a
run is reproducible from its seed.
"""

from __future__ import annotations

import numpy as np

from . import crn, passes
from .accounting import Ledger, return_balances
from .codes import (
    HOURS_PER_WEEK,
    RES,
    RES_SELF,
    RESIDENTIAL,
    SELF,
    TRAD,
    WEEKS_PER_YEAR,
    in_care_home,
)
from .config import BANDS, GROUPS, band_hours
from .labour import home_full_cost
from .providers import match_payers
from .state import small_keys
from .support import compose_mix
from .week import Column, Phase, Week


def group_arrays(cfg):
    """Per-group parameters as arrays indexed by group code (order of config.GROUPS)."""
    g = [getattr(cfg.users.groups, name) for name in GROUPS]
    names = ("share", "need_mean_hours", "need_cv", "personal_care_share", "carer_prob",
             "exit_rate", "need_growth", "need_shock_rate", "capability_mean",
             "home_care_only_share", "day_care_only_share", "day_care_days_per_week")
    arrays = {n: np.array([getattr(x, n) for x in g], dtype=float) for n in names}
    # Cumulative shares, to draw groups by inverting the CDF of a uniform draw.
    cdf = (arrays["share"] / arrays["share"].sum()).cumsum()
    arrays["share_cdf"] = cdf / cdf[-1]
    return arrays


class PopulationState:
    """Demographic rates derived at set-up so that, without a rollout, the population is
    stationary: entrants per week and admissions to care homes balance departures.

    * ``incidence[c, g]``: expected entrants per week to council ``c`` of group ``g`` = the
      expected departures per week of the starting population (everyone, self-funders and
      residents included), so the caseload neither grows nor shrinks in expectation and its
      group mix stays that of the configuration (low-turnover groups enter less often).

    Care homes keep their residents stationary themselves: they refill vacated beds up to
    their usual occupancy from high-need people seeking a place (``place_in_residential``);
    more people seek places than beds fall free (``care_home_unplaced``), so beds, not
    seekers, set the number of residents.  Care homes enter only where residents are above
    their homes' usual occupancy (``providers.beds_short``: after closures), so this stays
    true.
    """

    def __init__(self, model):
        u, G = model.users, model.groups
        live = np.flatnonzero(u.active)
        weekly = weekly_exit_hazard(model, live)
        n_g = G["share"].size
        self.incidence = np.zeros((model.council.n, n_g))
        np.add.at(self.incidence, (u.council[live], u.group[live]), weekly)


def weekly_exit_hazard(model, rows) -> np.ndarray:
    """Each person's weekly exit hazard (death, moving away): their group's annual rate, times
    ``users.residential_exit_mult`` in a care home."""
    u = model.users
    annual = model.groups["exit_rate"][u.group[rows]] * np.where(
        in_care_home(u.route[rows]), model.cfg.users.residential_exit_mult, 1.0)
    return annual / WEEKS_PER_YEAR


def draw_need(rng, mean, cv):
    """Lognormal need with the given mean and coefficient of variation (hours/week)."""
    sigma2 = np.log1p(cv**2)
    mu = np.log(mean) - sigma2 / 2
    return rng.lognormal(mu, np.sqrt(sigma2))


def draw_services(u, rows, group, G, rng):
    """Which services the council's package holds, drawn per person from their group's shares
    (``home_care_only_share``, ``day_care_only_share``; the rest receive both): home care
    alone (all of the need is personal care, met with agency hours: personal-care share 1),
    day care alone (share 0), or both (the personal-care share drawn around the group's).
    The traditional package, its cost, the RAS points and a PB holder's split of need between
    personal care and the rest all follow from the share.  Where no group has anyone on one
    service alone (the pilots' scenarios) nothing is drawn, so those runs are unchanged.
    Returns the mask (over ``rows``) of people on day care alone, or None."""
    home, day = G["home_care_only_share"], G["day_care_only_share"]
    if not (home.any() or day.any()):
        return None
    x = rng.random(rows.size)
    h, d = home[group], day[group]
    day_only = (x >= h) & (x < h + d)
    u.pc_share[rows] = np.where(x < h, 1.0, np.where(day_only, 0.0, u.pc_share[rows]))
    return day_only


def draw_day_care_hours(cfg, G, rng, group, scale, floor) -> tuple[np.ndarray, np.ndarray]:
    """Weekly hours of need of people on day care alone, for the groups with a day-care
    intensity (``day_care_days_per_week`` > 0): lognormal around days a week x
    ``users.day_care_hours_per_day`` with the group's ``need_cv``, at least the eligibility
    floor and at most seven days' hours.  Their need is all day care (personal-care share 0),
    so these are the package's day-service hours.  Returns (which of ``group`` are drawn,
    their hours)."""
    days = G["day_care_days_per_week"][group]
    on = days > 0
    per_day = cfg.users.day_care_hours_per_day
    hours = draw_need(rng, scale * days[on] * per_day, G["need_cv"][group[on]])
    return on, np.clip(hours, floor, min(7 * per_day, HOURS_PER_WEEK))


def eligibility_floor(cfg) -> float:
    """Hours/week of eligible need at which the council's starting FACS band begins."""
    return band_hours(cfg.council)[BANDS.index(cfg.council.eligibility_band)]


def create_users(model, council: np.ndarray, route: np.ndarray, rng, t: int = 0,
                 group: np.ndarray | None = None) -> np.ndarray:
    """Add users (one per entry of ``council``) with drawn group (unless given), need,
    preferences, capability and carers; ``rng`` is the people's generator
    (``model.people_rng``), so the same people enter a run and its counterfactual."""
    cfg, u, G = model.cfg, model.users, model.groups
    n = council.size
    rows = u.add(n)
    if group is None:
        group = G["share_cdf"].searchsorted(rng.random(n), side="right")
    group = np.asarray(group).astype(np.int8)
    u.council[rows] = council
    u.group[rows] = group
    u.route[rows] = route
    # Need is drawn as assessed eligible need (what councils record); draws under the
    # starting eligibility band are redrawn, as such people would not be on the caseload.
    scale = cfg.users.need_scale * model.shocks.need_factor   # (1 until a need shock)
    need = draw_need(rng, scale * G["need_mean_hours"][group], G["need_cv"][group])
    floor = eligibility_floor(cfg)
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
    day_only = draw_services(u, rows, group, G, rng)
    if day_only is not None and G["day_care_days_per_week"].any() and day_only.any():
        sel = rows[day_only]
        on, hours = draw_day_care_hours(cfg, G, rng, group[day_only], scale, floor)
        u.total_need[sel[on]] = hours
    u.fit[:, rows] = rng.beta(cfg.users.fit_alpha, cfg.users.fit_beta, size=(5, n))
    u.autonomy[rows] = rng.beta(cfg.users.autonomy_alpha, cfg.users.autonomy_beta, n)
    m, k = G["capability_mean"][group], us.capability_concentration
    u.capability[rows] = rng.beta(m * k, (1 - m) * k)
    u.review_step[rows] = t - rng.integers(0, cfg.council.review_interval_weeks, n)
    u.exit_clock[rows] = rng.exponential(1.0, n)
    u.shock_step[rows] = t + _waiting_time(rng, G["need_shock_rate"][group], n)
    has_carer = rng.random(n) < G["carer_prob"][group]
    has_carer &= route < RES
    add_carers(model, rows[has_carer], rng)
    # Family care comes on top of the eligible need: total need includes it.
    u.total_need[rows] = np.minimum(u.total_need[rows] + u.informal[rows], HOURS_PER_WEEK)
    refresh_need(model, rows)
    u.assessed[rows] = u.need[rows]
    return rows


def pre_age(model, rows, rng, rounds: int = 12):
    """Give the starting population the need it would have after its time on the caseload.

    Entrants' need is drawn from the configured distributions; it then drifts and jumps
    (``need_growth``, ``need_shock_rate`` x ``users.need_shock_size``) until they leave, and
    above ``users.residential_need_threshold`` people seek a care-home place
    (``users.care_home_seek_rate``).  With a constant exit hazard, the time a person present
    at a given moment has already spent on the caseload is exponential with the same hazard;
    among those still at home, a path is kept with the chance it escaped admission.  So each
    person's time and shocks are drawn (Poisson) and redrawn until kept (rejection sampling,
    a few rounds): the starting community has the stationary need distribution at once,
    instead of decades of burn-in."""
    u, G, cfg = model.users, model.groups, model.cfg
    thr = cfg.users.residential_need_threshold
    log_s = np.log1p(cfg.users.need_shock_size)
    seek = cfg.users.care_home_seek_rate
    base = u.total_need[rows] - u.informal[rows]
    todo = np.arange(rows.size)
    for rnd in range(rounds):
        r = rows[todo]
        g = u.group[r]
        years = np.minimum(rng.exponential(1.0, r.size) / np.maximum(
            weekly_exit_hazard(model, r) * WEEKS_PER_YEAR, 1e-3), 60.0)
        log_grow = G["need_growth"][g] * years + rng.poisson(G["need_shock_rate"][g] * years) * log_s
        formal = np.minimum(base[todo] * np.exp(log_grow), HOURS_PER_WEEK)
        total = np.minimum(formal + u.informal[r], HOURS_PER_WEEK)
        # Years above the threshold, with need growing at its average log rate along the path.
        start = np.log(np.maximum(base[todo] + u.informal[r], 1e-9))
        end = np.log(np.maximum(total, 1e-9))
        frac = np.where(end > start, np.clip((end - np.log(thr)) / np.maximum(end - start, 1e-12),
                                             0.0, 1.0), (total > thr).astype(float))
        kept = rng.random(r.size) < np.exp(-seek * frac * years)
        last = rnd == rounds - 1
        ok = kept | last
        u.total_need[r[ok]] = total[ok]
        todo = todo[~ok]
        if todo.size == 0:
            break
    refresh_need(model, rows)
    u.assessed[rows] = u.need[rows]


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
    c.strain_offset[rows] = rng.normal(0.0, cc.strain_sd, k)
    c.strain[rows] = np.clip(cc.strain_base + c.strain_offset[rows], 0.0, 1.0)
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
    """Council-funded users at home and in care homes, and self-funders at home and in care
    homes, for every council; those at home with the need they have after their time on the
    caseload (``pre_age``), residents as a stationary care-home population would hold them
    (``_first_residents``, ``_first_self_funding_residents``)."""
    cfg = model.cfg
    sizes = model.council.n_users0
    funded = model.council.funded_residents0
    # Residents of care homes: a share of the council's users (both payers), or, for councils
    # from data, the council-funded residents published (self-funding ones come on top).
    n_res = np.round(cfg.users.residential_share * sizes).astype(np.int64) if funded is None \
        else funded
    council = np.repeat(np.arange(sizes.size, dtype=np.int32), sizes - n_res)
    community = create_users(model, council, np.full(council.size, TRAD, np.int8), rng)
    pre_age(model, community, rng)
    # Self-funders buy their own care in the same market.
    n_self = rng.poisson(cfg.users.self_funder_ratio * (sizes - n_res))
    sf = create_users(model, np.repeat(np.arange(sizes.size, dtype=np.int32), n_self),
                      np.full(n_self.sum(), SELF, np.int8), rng)
    pre_age(model, sf, rng)
    # The care homes' residents: some pay their own fees, the rest are council-funded.
    own = _first_self_funding_residents(model, community, sf, n_res, rng,
                                        funded=funded is not None)
    if funded is None:
        n_res = n_res - np.bincount(model.users.council[own], minlength=n_res.size)
    res = _first_residents(model, community, n_res, rng)
    return np.concatenate([community, res]), np.concatenate([sf, own])


def draw_capital(cfg, u1, u2) -> np.ndarray:
    """Capital (£) the means test counts for a self-funder moving into a care home: lognormal
    (``users.capital_median``, ``users.capital_sigma``), from two uniforms (Box-Muller), so a
    person's capital can be a common random number."""
    z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return cfg.users.capital_median * np.exp(cfg.users.capital_sigma * z)


def self_funder_fee(cfg, share, fee=None) -> np.ndarray:
    """£/week a self-funding resident pays at the start where ``share`` of residents pay their
    own fees: a home's full cost (``labour.home_full_cost``) plus what the council's rate
    (``fee``, per council; default ``council.block_price_residential``) leaves short of it on
    its council-funded beds, spread over its self-funders (at most ``market.recovery_cap`` of
    full cost), never below the council's rate: the list price ``providers.finances`` sets."""
    full = home_full_cost(cfg)
    fee = cfg.council.block_price_residential if fee is None else np.asarray(fee, dtype=float)
    share = np.maximum(np.asarray(share, dtype=float), 1e-9)
    surcharge = np.minimum(np.maximum(full - fee, 0.0) * (1 - share) / share,
                           cfg.market.recovery_cap * full)
    return np.maximum(full + surcharge, fee)


def _first_self_funding_residents(model, community, sf, n_res, rng, funded=False):
    """Self-funding care-home residents at the start, as a stationary care home holds them:
    of the ``n_res`` residents of each council (``users.residential_share``), how many pay
    their own fees.

    Self-funders at home take free beds as council-funded people do (high need, the same
    seeking rate, in random order), and so do council-funded people whose capital the means
    test counts on moving in (``users.care_home_owner_share`` of them); they stay until they
    leave at the same hazard or until their capital falls to the upper limit (then the council
    funds them).  So of the residents, the self-funding share is the high-need payers' share
    (self-funders, and that share of the council-funded) of high-need people at home, times
    the share of a self-funding resident's stay spent self-funding.  That share, and each
    one's capital now, come from the same sampling: capital at entry is drawn, and time since
    entry from the exit hazard in a home; a draw is kept if the capital has not run down by
    then (rejection sampling): kept draws have the stationary joint distribution, and the
    share kept is the share of time.  Each kind of person is weighted by their stay in a home
    (1 / their group's hazard there), and the fee they pay is the list price the self-funding
    share makes (``self_funder_fee``): share and fee are solved together.  With ``funded``
    (councils from data), ``n_res`` are the council-funded residents, each council pays its
    own fee, and the self-funding residents come on top, in the share solved for."""
    u, cfg, G = model.users, model.cfg, model.groups
    n_c = n_res.size
    thr = cfg.users.residential_need_threshold
    high_f = community[u.total_need[community] > thr]
    high_s = sf[u.total_need[sf] > thr]
    # Council-funded people whose capital the means test counts on moving in pay too
    # (``users.care_home_owner_share``).
    owner = model.council.owner_share
    hazard = G["exit_rate"] * cfg.users.residential_exit_mult / WEEKS_PER_YEAR
    k = 20_000
    pool = np.r_[high_s, high_f]
    # A home holds each kind of person in proportion to how many move in / how fast they
    # leave (their group's hazard in a home), so payers are weighted by 1 / hazard.
    stay = 1.0 / np.maximum(hazard[u.group[pool]], 1e-9)
    weight = np.r_[np.ones(high_s.size), owner[u.council[high_f]]] * stay
    payers = weight.sum() > 0
    g = pool[rng.choice(pool.size, k, p=weight / weight.sum())] if payers else np.zeros(k, int)
    h = hazard[u.group[g]] if payers else np.full(k, hazard.mean())
    cap0 = draw_capital(cfg, rng.random(k), rng.random(k))
    weeks = rng.exponential(1.0, k) / np.maximum(h, 1e-9)
    at = u.council[pool]
    share = np.bincount(at, weight, n_c) / np.maximum(np.bincount(at, stay, n_c), 1e-9)
    # Councils from data pay their own fees (``council.block_price``).
    fee_c = model.council.block_price[:, RESIDENTIAL] if funded else None
    # What a self-funder pays depends on how many share their home's shortfall, and how long
    # they pay on what they pay: the self-funding share and the fee, per council, as a fixed
    # point (damped iteration).
    upper, income = cfg.council.capital_upper, cfg.users.care_home_income
    kept_share = (lambda fee: ((cap0[None, :] - np.maximum(fee - income, 1.0)[:, None]
                                * weeks[None, :]) > upper).mean(axis=1))
    paying = share.copy()
    for _ in range(30):
        paying = 0.5 * paying + 0.5 * share * kept_share(self_funder_fee(cfg, paying, fee_c))
    spend = np.maximum(self_funder_fee(cfg, paying, fee_c) - income, 1.0)
    q = np.clip(paying, 0.0, 0.9)
    # With ``funded``, ``n_res`` are the council-funded residents (from data): self-funding
    # residents come on top, as many as that share of all residents implies.
    n_own = rng.poisson(n_res * q / (1 - q)) if funded else rng.binomial(n_res, np.clip(paying, 0.0, 1.0))
    council = np.repeat(np.arange(n_c, dtype=np.int32), n_own)
    if council.size == 0 or not payers:
        return np.empty(0, np.int64)
    # Each one's capital now: a kept draw at their council's fee.
    pick = np.zeros(council.size, dtype=np.int64)
    left = np.zeros(council.size)
    for c in np.unique(council):
        mine = np.flatnonzero(council == c)
        rest = cap0 - spend[c] * weeks
        ok = np.flatnonzero(rest > upper)
        if ok.size == 0:
            ok = np.array([int(np.argmax(rest))])
        pick[mine] = rng.choice(ok, mine.size)
        left[mine] = np.maximum(rest[pick[mine]], upper + 1.0)
    own = create_users(model, council, np.full(council.size, RES_SELF, np.int8), rng,
                       group=u.group[g[pick]])
    u.total_need[own] = u.total_need[g[pick]]
    refresh_need(model, own)
    u.assessed[own] = u.need[own]
    u.capital[own] = left
    return own


def _first_residents(model, community, n_res, rng):
    """``n_res[c]`` care-home residents of each council at the start.  Care homes admit people
    at home whose total need is above the residential threshold (``demography``), and
    residents leave at their group's hazard in a home, so a stationary home population holds
    each group in proportion to its high-need people at home / that hazard; each resident's
    need is a high-need person's of the same group."""
    u, cfg, G = model.users, model.cfg, model.groups
    n_g = G["share"].size
    high = community[u.total_need[community] > cfg.users.residential_need_threshold]
    hazard = G["exit_rate"] * cfg.users.residential_exit_mult
    w = np.bincount(u.group[high], minlength=n_g) / np.maximum(hazard, 1e-6)
    w = w / w.sum() if w.sum() > 0 else G["share"] / G["share"].sum()
    per = np.array([rng.multinomial(k, w) for k in n_res]).reshape(-1, n_g)
    council = np.repeat(np.repeat(np.arange(n_res.size, dtype=np.int32), n_g), per.ravel())
    group = np.repeat(np.tile(np.arange(n_g), n_res.size), per.ravel())
    res = create_users(model, council, np.full(council.size, RES, np.int8), rng, group=group)
    for g in range(n_g):
        mine, pool = res[u.group[res] == g], high[u.group[high] == g]
        if mine.size and pool.size:
            u.total_need[mine] = u.total_need[rng.choice(pool, mine.size)]
    refresh_need(model, res)
    u.assessed[res] = u.need[res]
    return res


def leave_funding(model, week: Week, rows):
    """People who no longer meet the council's band leave council funding: a share pay for
    their own care (the means test's self-funder share; a common random number), the rest go
    without and leave the model."""
    cfg, u = model.cfg, model.users
    return_balances(model, week.ledger, rows)
    sf_p = cfg.users.self_funder_ratio / (1 + cfg.users.self_funder_ratio)
    pay = crn.uniform(cfg.seed, "self_fund", u.uid[rows], week.t) < sf_p
    sf = rows[pay]
    u.route[sf] = SELF
    u.budget[sf] = 0.0
    u.in_queue[sf] = False
    u.planning_until[sf] = -1
    compose_mix(model, sf)
    remove_users(model, week.ledger, rows[~pay], count_exit=False)


def _waiting_time(rng, annual_rate, size):
    """Weeks until an event with a constant annual hazard (geometric, at least one week)."""
    p = 1 - np.exp(-np.asarray(annual_rate, dtype=float) / WEEKS_PER_YEAR)
    return np.where(p > 0, rng.geometric(np.clip(p, 1e-12, 1.0), size), 2**30).astype(np.int32)


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


def place_in_residential(model, ledger: Ledger, movers, t: int = 0) -> np.ndarray:
    """Move users (in order of priority) into care homes of their council with a bed free
    below the home's usual occupancy (one in ``1 + market.capacity_slack`` beds kept free,
    rounded at random); others stay at home.  Council-funded people become council-funded
    residents; a self-funder's capital (``draw_capital``, a common random number) is counted by
    the means test: above the upper limit they pay the home's fee themselves (``RES_SELF``),
    otherwise the council funds them.  Returns the people who found no bed, per council."""
    u, p, rng = model.users, model.providers, model.rng
    n_c = model.council.n
    homes = np.flatnonzero(p.active & (p.ptype == RESIDENTIAL))
    occ = passes.residents_per_home(users=u, n_providers=p.capacity.size)
    usual = p.capacity[homes] / (1 + model.cfg.market.capacity_slack) - occ[homes]
    vac = np.maximum(np.floor(usual + rng.random(homes.size)), 0).astype(int)
    slots = np.repeat(homes, vac)
    if slots.size == 0:
        return np.bincount(u.council[movers], minlength=n_c)
    # Free beds in random order, then grouped by council (a stable radix sort on a
    # small-integer key keeps the random order within each council).
    slots = slots[rng.permutation(slots.size)]
    slot_council = p.home[slots]
    order = np.argsort(small_keys(slot_council, model.council.n), kind="stable")
    slots, slot_council = slots[order], slot_council[order]
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
    cfg = model.cfg
    # The means test on moving in counts capital: a self-funder's, and a council-funded
    # person's if they have any the test counts (the home they leave: a common random number).
    own = u.route[placed] == SELF
    owner = (crn.uniform(cfg.seed, "owner", u.uid[placed], 0)
             < model.council.owner_share[u.council[placed]])
    u.route[placed] = RES
    payer = placed[own | owner]
    if payer.size:
        u.capital[payer] = draw_capital(cfg, crn.uniform(cfg.seed, "capital", u.uid[payer], 0),
                                        crn.uniform(cfg.seed, "capital", u.uid[payer], 1))
        u.route[payer[u.capital[payer] > cfg.council.capital_upper]] = RES_SELF
    u.in_queue[placed] = False
    u.planning_until[placed] = -1
    u.mix[:, placed] = 0.0
    u.delivered[:, placed] = 0.0
    # Self-funders choose among the free beds, the council places its people in the rest.
    u.main_provider[placed] = match_payers(model, placed, home, u.route[placed] == RES_SELF, rng)
    return np.bincount(mc[~ok], minlength=n_c)


def demography(model, week: Week):
    """Entrants arrive, users leave (death/moving away/residential), needs progress.

    Every chance event of a person is a common random number (``sim.crn``) or a draw from the
    people's generator in an order the policy cannot change, so a run and its counterfactual
    hold the same people with the same luck."""
    cfg, u, G, P = model.cfg, model.users, model.groups, model.population
    seed, t, n_c = cfg.seed, week.t, model.council.n
    # Exits and need progression (drift plus occasional step increases), one pass over all rows.
    leaving, shocked, high = passes.exits_and_need(
        users=u, t=t, drift=G["need_growth"] / WEEKS_PER_YEAR,
        hazard=G["exit_rate"] / WEEKS_PER_YEAR, shock_size=cfg.users.need_shock_size,
        residential_mult=cfg.users.residential_exit_mult,
        residential_threshold=cfg.users.residential_need_threshold)
    u.shock_step[shocked] = t + crn.geometric_weeks(
        crn.uniform(seed, "shock", u.uid[shocked], t), G["need_shock_rate"][u.group[shocked]])
    remove_users(model, week.ledger, leaving)

    # Moves to residential care: high-need community users seeking a place, if a bed is free
    # in their council (first those whose draw is lowest: a common random number).
    draw = crn.uniform(seed, "residential", u.uid[high], t)
    seek = 1 - np.exp(-cfg.users.care_home_seek_rate / WEEKS_PER_YEAR)
    movers = high[draw < seek]
    unplaced = np.zeros(n_c, dtype=np.int64)
    if movers.size:
        unplaced = place_in_residential(model, week.ledger, movers[np.argsort(draw[draw < seek])])
    week.unplaced = unplaced
    week.put("care_home_unplaced", unplaced)

    # Entrants: a Poisson number per council and group at the stationary incidence.
    rng = model.people_rng
    n_new = rng.poisson(P.incidence)
    council = np.repeat(np.repeat(np.arange(n_c, dtype=np.int32), n_new.shape[1]), n_new.ravel())
    group = np.repeat(np.tile(np.arange(n_new.shape[1]), n_c), n_new.ravel())
    rows = create_users(model, council, np.full(council.size, TRAD, np.int8), rng, t=t,
                        group=group)
    # Means test: a share of entrants fund themselves; below the council's eligibility band,
    # nobody is council-funded (they buy their own care or go without: counted as turned away).
    sf_p = cfg.users.self_funder_ratio / (1 + cfg.users.self_funder_ratio)
    self_funded = rng.random(rows.size) < sf_p
    below = u.need[rows] < model.council.threshold[u.council[rows]]
    u.route[rows[self_funded]] = SELF
    turned = rows[below & ~self_funded]
    week.put("turned_away", np.bincount(u.council[turned], minlength=n_c))
    week.put("entrants", np.bincount(u.council[rows[~below | self_funded]], minlength=n_c))
    week.put("leavers", np.bincount(u.council[leaving], minlength=n_c))
    remove_users(model, week.ledger, turned, count_exit=False)
    kept = rows[~below | self_funded]
    compose_mix(model, kept)
    # A new council-funded entrant is assessed now: the review phase makes any offer.
    funded = kept[u.route[kept] == TRAD]
    u.review_step[funded] = t - cfg.council.review_interval_weeks


DEMOGRAPHY = Phase(
    "demography", demography,
    reads="people's exit and need-shock weeks, need, group; care-home beds; eligibility; "
          "entrants' need factor (model.shocks, after a need shock)",
    writes="need progression; leavers removed (DP balances returned, ledger); moves into care "
           "homes; entrants created (with carers) and their support composed",
    columns=(Column("care_home_unplaced", "people", "people seeking a care-home place who "
                    "found no bed free in their council this week"),
             Column("turned_away", "people",
                    "entrants below the eligibility band, not council-funded"),
             Column("entrants", "people", "people entering (council-funded or self-funding)"),
             Column("leavers", "people", "people leaving (death, moving away)")))

