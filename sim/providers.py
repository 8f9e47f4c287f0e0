"""Providers' side of the market: initial market, staffing, prices, finances, entry and exit,
and who serves whom (sampling a provider, re-placing people when one leaves).

Providers' decisions are simple rules applied to all of them at once: staff toward recent
demand (limited by the council's care-worker pool), move spot prices toward a target
utilisation (never below labour cost), pay wages and overheads, leave when cash runs out,
and enter where demand is unmet and margins are good.
"""

from __future__ import annotations

import numpy as np

from . import passes
from .codes import (
    AGENCY,
    DAY,
    MPB,
    N_MARKET_OPTIONS,
    N_TYPES,
    PA,
    PROVIDER_TYPES,
    RES,
    RES_SELF,
    RESIDENTIAL,
    TRAD,
    WEEKS_PER_YEAR,
    in_care_home,
)
from .labour import (
    WORKFORCE_COLUMNS,
    home_overhead,
    labour_per_unit,
    labour_used,
    overhead_share,
    pa_employed,
    recruit_ahead,
    staffing,
    start_cost_floor,
    turnover_by_type,
    unit_labour_cost,
)
from .market import capacity_share, hhi
from .state import small_keys
from .week import Column, Phase, Week, rate


def typical_size(cfg) -> np.ndarray:
    m = cfg.market
    return np.array([m.agency_hours_mean, m.day_hours_mean, m.pa_hours, m.community_hours_mean,
                     m.beds_mean])


def weekly_costs(cfg, ptype, capacity, delivered, wage, overhead):
    """Labour (a fixed share paid on staffed capacity, the rest per unit delivered) + overhead.

    Personal assistants are paid only for hours worked, and community groups pay sessional
    staff per session run, so neither has fixed labour."""
    return passes.weekly_costs(ptype=ptype, capacity=capacity, units=delivered,
                               unit_labour=unit_labour_cost(cfg, ptype, wage), overhead=overhead,
                               fixed_share=cfg.market.labour_fixed_share)


def start_prices(cfg) -> np.ndarray:
    """Spot prices (£/unit) by provider type in week one: the configured market prices, but
    never below what covers a provider's costs at the starting wage."""
    m = cfg.market
    configured = np.array([m.spot_price_agency, m.spot_price_day, m.price_pa, m.price_community,
                           cfg.council.block_price_residential])
    return np.maximum(configured, start_cost_floor(cfg))


def add_providers(model, ptype, home, capacity, price, rng, cash_weeks=None, new_build=False):
    """Create providers (rows + Mesa agents) with edges to their home and maybe neighbours.

    A care home's fixed costs are its running costs, the return on its capital and its
    manager (``labour.home_overhead``): a home of the starting market has a building of its own age
    and standard, its capital cost drawn evenly between ``market.home_capital_cost_floor``
    and ``_ceiling``; a ``new_build`` (an entrant) meets the standards for new homes and
    carries the ceiling."""
    cfg, p = model.cfg, model.providers
    rows = p.add(ptype.size)
    p.ptype[rows] = ptype
    p.home[rows] = home
    p.capacity[rows] = capacity
    p.built[rows] = capacity
    p.posts[rows] = capacity
    p.staffed[rows] = capacity
    p.price[rows] = price
    p.entered_step[rows] = model.t
    # Owners differ in how long they carry losses (reserves, other income, patience): each
    # provider's tolerance scales ``market.exit_margin`` and ``market.overdraft_weeks``.
    spread = cfg.market.exit_tolerance_spread
    p.tolerance[rows] = rng.uniform(1 - spread, 1 + spread, rows.size) if spread > 0 else 1.0
    # Fixed overhead by type (``labour.overhead_share``): a day centre's building weighs most;
    # community groups (clubs, lunch clubs, activity groups) run on members' fees, grants and
    # volunteers, so PB holders paying per session do not carry their overheads (assumption).
    p.overhead[rows] = overhead_share(cfg, ptype) * capacity * price
    homes = ptype == RESIDENTIAL
    if homes.any():
        m = cfg.market
        capital = (np.full(homes.sum(), m.home_capital_cost_ceiling) if new_build else
                   rng.uniform(m.home_capital_cost_floor, m.home_capital_cost_ceiling,
                               homes.sum()))
        p.overhead[rows[homes]] = home_overhead(cfg, capital, capacity[homes])
    weekly_cost = weekly_costs(cfg, ptype, capacity, capacity, model.wage[home], p.overhead[rows])
    p.cash[rows] = weekly_cost * (cfg.market.cash_weeks if cash_weeks is None else cash_weeks)
    p.delivered_ema[rows] = capacity / (1 + cfg.market.capacity_slack)
    std_units = cfg.market.target_utilisation * capacity
    p.unit_cost[rows] = weekly_costs(cfg, ptype, capacity, std_units, model.wage[home],
                                     p.overhead[rows]) / np.maximum(std_units, 1e-9)
    # Edges: home council, plus neighbours for multi-council agencies.
    councils = [home]
    provs = [rows]
    multi = rows[(ptype == AGENCY) & (rng.random(rows.size) < cfg.geography.multi_council_share)]
    for r in multi:
        nb = model.council.neighbours(p.home[r])
        if nb:
            councils.append(np.asarray(nb, dtype=np.int32))
            provs.append(np.full(len(nb), r))
    pc = np.concatenate(provs)
    cc = np.concatenate(councils)
    e = model.edges.add(pc.size)
    model.edges.provider[e] = pc
    model.edges.council[e] = cc
    model.add_provider_agents(rows)
    return rows


def initial_market(model, demand_units, rng):
    """Size each (council, type) market to the starting demand plus slack."""
    cfg, m = model.cfg, model.cfg.market
    size = typical_size(cfg)
    prices = start_prices(cfg)
    types, homes, caps, price = [], [], [], []
    n_c = model.council.n
    for c in range(n_c):
        for t in range(N_TYPES):
            need = demand_units[c, t] * (1 + cfg.market.capacity_slack)
            if need <= 0:
                # Every area has some of each kind of support (a community group, a few
                # personal assistants), even before anyone in it buys one.
                need = size[t] * (m.initial_pa_count if t == PA else 1)
            k = max(1, int(round(need / size[t])))
            share = (rng.dirichlet(np.full(k, m.initial_size_concentration)) if t != PA
                     else np.full(k, 1.0 / k))
            types.append(np.full(k, t, np.int8))
            homes.append(np.full(k, c, np.int32))
            caps.append(need * share)
            price.append(prices[t] * rng.normal(1.0, m.initial_price_sd, k) if t != RESIDENTIAL
                         else np.full(k, prices[t]))
    rows = add_providers(model, np.concatenate(types), np.concatenate(homes),
                         np.concatenate(caps), np.concatenate(price), rng)
    # The starting market is established: its providers judge their margins from the first
    # week (the burn-in shakes out the unviable), only entrants have a grace period.
    model.providers.entered_step[rows] = -cfg.market.exit_grace_weeks
    return rows


def initial_blocks(model, trad_units):
    """Block contracts with the largest agencies/day services/homes of each council.

    The council contracts ``council.block_share`` of its traditional demand, shared pro rata
    to capacity among its largest local providers: at least ``council.block_providers`` of
    them, and as many more as it takes for no contract to exceed ``council.block_max_load`` of
    a provider's capacity (all of them, if even that is not enough: then the volume is what
    they can carry)."""
    cfg, e, p = model.cfg, model.edges, model.providers
    cc = cfg.council
    rows = np.flatnonzero(e.active & (e.council == p.home[e.provider]))
    t = p.ptype[e.provider[rows]]
    for typ in (AGENCY, DAY, RESIDENTIAL):
        r = rows[t == typ]
        for c in range(model.council.n):
            rc = r[e.council[r] == c]
            if rc.size == 0:
                continue
            ranked = rc[np.argsort(-p.capacity[e.provider[rc]], kind="stable")]
            vol = cc.block_share * trad_units[c, typ]
            carry = np.cumsum(p.capacity[e.provider[ranked]]) * cc.block_max_load
            k = max(1, cc.block_providers, int(np.searchsorted(carry, vol)) + 1)
            top = ranked[:k]
            cap = p.capacity[e.provider[top]]
            e.block_volume[top] = np.minimum(vol * cap / cap.sum(), cc.block_max_load * cap)
            e.block_price[top] = model.council.block_price[c, typ]
            # Staggered end dates, so renewals do not all fall in one week.
            e.block_end[top] = model.rng.integers(1, cfg.council.block_duration_weeks + 1, top.size)


def finances(model, week: Week):
    """Book the week's revenue and costs, adjust prices and staffing; insolvent providers exit."""
    cfg, p = model.cfg, model.providers
    m = cfg.market

    act = np.flatnonzero(p.active)
    lab = labour_per_unit(cfg)
    # The week's costs (``weekly_costs``, at its staffed capacity before this week's
    # staffing, ``cap``) and the smoothed units delivered; then the workforce
    # (``labour.staffing``): a provider wants staff for recent demand plus slack (and a
    # contract holder for the guaranteed hours not called off, ``market.staff_contracted``:
    # no slack on them, their number is known), with posts open ahead of the leavers it
    # expects (``labour.recruit_ahead``), and sheds surplus staff gradually; care homes staff
    # their beds, a personal assistant's post is fixed.  Staff leave, open posts are filled
    # from the care-worker pool as far as it allows, the best-paying first; the recruitment is
    # a cost of the week.  (One compiled pass each: ``kernels.provider_costs``, ``staffing``.)
    cost, cap = passes.provider_costs(
        act=act, providers=p, sales=week.sales, edges=model.edges, wage=model.wage,
        labour_per_unit=lab, recruit_ahead=recruit_ahead(cfg, np.arange(N_TYPES)),
        guarantee=cfg.council.block_guarantee, market=m)
    cost = cost + staffing(model, week, act)

    # The books; expectations: the margin, smoothed over about a quarter
    # (``market.margin_smoothing``), and the full cost per unit at the target utilisation (a
    # provider prices and judges its contracts on its standard cost, not on a bad week's,
    # expected recruitment included: ``labour.expected_recruit_cost``).
    #
    # List prices (what direct-payment holders and self-funders pay; councils pay their
    # contract rates).  Demand pressure (units asked / capacity, above 1 when buyers are turned
    # away) moves them toward the target utilisation, at most price_step_max a week.  They
    # never fall below the price at which private sales recover the provider's full cost (at
    # the target utilisation) plus ``market.markup`` on all its work: what its council
    # contracts pay short of that is charged to private buyers (at most ``market.recovery_cap``
    # of full cost on top).  So a self-funder premium appears where council rates are below
    # cost, and not otherwise.  (A care home's return is in its capital cost, Laing's 12% a
    # year: no markup on top.)  A provider whose work has shrunk below the size it was set up
    # for cannot charge its buyers for the idle part of its premises and management
    # (``market.price_on_built``): its competitors' prices would take them.  It prices its
    # fixed overhead over the units of that size at the target utilisation; its losses on the
    # idle part stay its own.
    #
    # Care homes list their fees on cost recovery alone: the self-funder's fee is the list
    # price, and what the council's rate leaves short of full cost on council-funded beds is
    # recovered from it (the council pays its rate, ``market.purchase``); nor does a care home
    # ask a self-funder less than its council pays for the same bed.  Its list price follows
    # its cost recovery both ways (at most price_step_max a week): a price kept up after a
    # week with few self-funders would ratchet on noise.  Admissions keep a home at its usual
    # occupancy, and the people seeking a place who found none are a standing excess even in
    # the stationary baseline (``beds_short``), so demand pressure would only ratchet fees up
    # without a shortage.
    #
    # Hand-backs: a provider losing money declines to renew the block contracts that pay less
    # than its unit cost; the council's people it served are re-placed.  Exit when cash is
    # below the tolerated overdraft, or when the smoothed loss stays beyond
    # ``market.exit_margin`` of costs (expected margins negative: closing beats carrying on).
    # Each provider has its own tolerance (``market.exit_tolerance_spread``), so providers alike
    # in all else do not all close in the same week: the first to go leaves its buyers to the
    # others.  Both judge only providers past their first ``market.exit_grace_weeks``.
    # (The books, prices and who is losing or insolvent: one compiled pass,
    # ``kernels.provider_books``.)
    losing, insolvent = passes.provider_books(
        act=act, providers=p, capacity=cap, cost=cost, sales=week.sales, wage=model.wage,
        block_price=model.council.block_price, labour_per_unit=lab,
        turnover=turnover_by_type(cfg), t=week.t, market=m)
    handed = hand_back(model, week, losing)
    week.put("block_handbacks", handed)
    # And closures for quality, not money: a regulated service (agency, care home) closed by
    # the regulator or by its owner after a poor rating, at ``market.quality_exit_rate``.
    if m.quality_exit_rate > 0:
        weekly = 1.0 - (1.0 - m.quality_exit_rate) ** (1.0 / WEEKS_PER_YEAR)
        ptype = p.ptype[act]
        regulated = (ptype == AGENCY) | (ptype == RESIDENTIAL)
        insolvent |= regulated & (model.rng.random(act.size) < weekly)
    exit_providers(model, week, act[insolvent])
    week.put("provider_exits", week.exits.sum(axis=1))
    exits = week.exits.T.copy()                  # rows by type (one copy)
    for i, name in enumerate(PROVIDER_TYPES):
        week.put(f"provider_exits_{name}", exits[i])
    week.put("people_displaced", week.displaced.copy())


def hand_back(model, week: Week, losing) -> np.ndarray:
    """``losing`` providers decline the renewal of their block contracts that pay less per hour
    delivered than their unit cost (``unit_cost``, at the target utilisation).  The council
    renews at that cost instead where it is at most ``policy.renewal_uplift_max`` above its
    rate and no dearer than spot; otherwise the provider hands the contract back if it pays
    less than the cost the provider would avoid without it (its unit cost less its fixed
    overhead per unit: ``market.handback_avoidable``; a contract covering that pays toward the
    fixed costs and is kept at its rate), the volume goes, the council buys that care at
    spot, and it re-places the people the provider served for it (disrupted).  A contract
    binds both sides for its term: a provider can hand one back only when it comes up for
    renewal (``week.renewed``, from the blocks phase) or by closing; the council's side is
    the guarantee, until renewal or its wind-down.  Returns the contracts handed back per
    council."""
    e, p, u, n_c = model.edges, model.providers, model.users, model.council.n
    if losing.size == 0:
        return np.zeros(n_c, dtype=np.int64)
    is_losing = np.zeros(p.size, dtype=bool)
    is_losing[losing] = True
    rows = week.renewed[e.active[week.renewed] & (e.block_volume[week.renewed] > 0)]
    # What the contract pays per hour actually delivered (guaranteed pay for idle hours
    # included): a contract that pays for hours nobody uses is worth keeping.
    with np.errstate(invalid="ignore", divide="ignore"):
        paid = np.where(e.block_hours[rows] > 0, e.block_pay[rows] / e.block_hours[rows], np.inf)
    short = is_losing[e.provider[rows]] & (paid < p.unit_cost[e.provider[rows]])
    rows, paid = rows[short], paid[short]
    if rows.size:
        # Renegotiation: the council pays the provider's unit cost rather than lose the
        # contract, if that is at most ``policy.renewal_uplift_max`` above its own rate and no
        # dearer than the spot price it would pay for the care.
        cost = p.unit_cost[e.provider[rows]]
        ptype = p.ptype[e.provider[rows]]
        spot = model.spot_price_ct[e.council[rows], ptype]
        rate = model.council.block_price[e.council[rows], ptype]
        keep = (cost <= spot) & (cost <= rate * (1 + model.cfg.policy.renewal_uplift_max))
        e.block_price[rows[keep]] = cost[keep]
        rows, paid = rows[~keep], paid[~keep]
        # Refused, the provider still renews a contract that covers the costs it would save
        # without it: its unit cost less its fixed overhead (building, manager, capital), which
        # it carries whether or not it holds the contract (``market.handback_avoidable``).
        if model.cfg.market.handback_avoidable and rows.size:
            prov = e.provider[rows]
            std_units = np.maximum(model.cfg.market.target_utilisation * p.capacity[prov], 1e-9)
            avoidable = p.unit_cost[prov] - p.overhead[prov] / std_units
            rows = rows[paid < avoidable]
    if rows.size == 0:
        return np.zeros(n_c, dtype=np.int64)
    e.block_volume[rows] = 0.0
    e.block_end[rows] = -1
    # The council's own clients of that provider in that council (traditional packages and
    # managed PBs buy through its contracts) move to another provider.
    prov, coun = e.provider[rows], e.council[rows]
    handing = np.zeros(p.size, dtype=bool)
    handing[prov] = True
    mp = u.main_provider
    cand = np.flatnonzero(((u.route == TRAD) | (u.route == MPB)) & (mp >= 0))
    cand = cand[handing[mp[cand]]]
    key = coun.astype(np.int64) * p.size + prov
    hit = cand[np.isin(u.council[cand].astype(np.int64) * p.size + mp[cand], key)]
    _replace(model, week, hit)
    return np.bincount(coun, minlength=n_c)


def _replace(model, week: Week, hit):
    """People whose provider stopped serving them: disrupted for
    ``behaviour.disruption_weeks`` and given another provider (care home or their main
    option's market); counted as displaced in their council."""
    u, t = model.users, week.t
    if hit.size == 0:
        return
    u.disrupted_until[hit] = t + model.cfg.behaviour.disruption_weeks
    u.displaced_step[hit] = t
    assign_residents(model, hit[in_care_home(u.route[hit])])
    comm = hit[u.route[hit] < RES]
    main = np.argmax(u.mix[:N_MARKET_OPTIONS, comm], axis=0)
    u.main_provider[comm] = sample_provider(model, u.council[comm] * N_TYPES + main)
    week.displaced += np.bincount(u.council[hit], minlength=model.council.n)


def provider_entry(model, week: Week):
    """New providers enter where demand is unmet and margins are good; then the state of the
    market at the end of the week is reported."""
    excess = excess_demand(model, week.clearing)
    excess[RESIDENTIAL::N_TYPES] = beds_short(model, week.unplaced)
    rows = enter(model, excess, market_margins(model))
    p = model.providers
    np.add.at(week.entries, (p.home[rows], p.ptype[rows]), 1)
    week.put("provider_entries", week.entries.sum(axis=1))
    for i, name in enumerate(PROVIDER_TYPES):
        week.put(f"provider_entries_{name}", week.entries[:, i].copy())
    _report_market(model, week)


def enter(model, excess, margin_by_market):
    """New providers enter markets with excess demand and good margins; returns their rows.

    ``excess`` is demand beyond what incumbents serve at their target utilisation (units).
    """
    cfg, rng = model.cfg, model.rng
    m = cfg.market
    n_c = model.council.n
    size = typical_size(cfg)
    types = np.tile(np.arange(N_TYPES), n_c)
    councils = np.repeat(np.arange(n_c), N_TYPES)
    hurdle = np.where(types == RESIDENTIAL, m.home_entry_margin, m.entry_margin)
    ok = (excess > 0) & (margin_by_market > hurdle)
    rate = np.where(types == PA, cfg.market.pa_entry_rate,
                    np.where(types == RESIDENTIAL, m.home_entry_rate, m.entry_rate))
    lam = np.where(ok, rate * excess / size[types], 0.0)
    k = rng.poisson(np.minimum(lam, 1e6))
    if k.sum() == 0:
        return np.empty(0, np.int64)
    t = np.repeat(types, k).astype(np.int8)
    c = np.repeat(councils, k).astype(np.int32)
    cap = np.where(t == PA, size[PA],
                   size[t] * rng.uniform(m.entrant_size_min, m.entrant_size_max, t.size))
    # Entrants need care workers too; a new personal assistant comes from the PA pool.
    free = np.maximum(model.labour_pool - labour_used(model), 0.0)
    free_pa = np.maximum(model.pa_pool - pa_employed(model), 0.0)
    lab = labour_per_unit(cfg)[t] * cap
    order = np.argsort(rng.random(t.size))
    t, c, cap, lab = t[order], c[order], cap[order], lab[order]
    pool = c * 2 + (t == PA)
    room = np.zeros(t.size, dtype=bool)
    for g in np.unique(pool):
        idx = np.flatnonzero(pool == g)
        room[idx] = np.cumsum(lab[idx]) <= (free_pa if g % 2 else free)[g // 2]
    t, c, cap = t[room], c[room], cap[room]
    if t.size == 0:
        return np.empty(0, np.int64)
    price = model.spot_price_ct[c, t] * rng.normal(1.0, m.entrant_price_sd, t.size)
    return add_providers(model, t, c, cap, price, rng,
                         cash_weeks=m.cash_weeks * m.entrant_cash_share, new_build=True)



def beds_short(model, unplaced) -> np.ndarray:
    """Care-home beds short per council (beds): while people seeking a place find none
    (``unplaced``, this week's, per council), the residents its homes hold beyond their usual
    occupancy (one bed in 1 + ``market.capacity_slack`` kept free, rounded up: admissions
    never go beyond it, so only residents re-placed after a home closed or shrank do), plus
    those people; else none.  (More people seek places than beds fall free even in the
    stationary baseline, so unplaced seekers alone are not a shortage: entry on them would
    grow the homes without end.)"""
    p, n_c = model.providers, model.council.n
    homes = np.flatnonzero(p.active & (p.ptype == RESIDENTIAL))
    usual = np.ceil(p.capacity[homes] / (1 + model.cfg.market.capacity_slack))
    over = np.bincount(p.home[homes], np.maximum(p.occupied[homes] - usual, 0.0), n_c)
    return np.where((over > 0) & (unplaced > 0), over + unplaced, 0.0)


def excess_demand(model, cl) -> np.ndarray:
    """Demand per (council, type) beyond what providers serving it can take at their
    target utilisation (units/week): spot demand against the capacity their contracts leave
    free (``market.entry_on_spot``)."""
    p, e = model.providers, model.edges
    ed = np.flatnonzero(e.active)
    n = model.council.n * N_TYPES
    prov = e.provider[ed]
    # A provider's capacity counts in each market it serves, split as it offers it.
    share = capacity_share(prov, e.block_hours[ed] + e.spot_hours[ed], p.capacity.size,
                           model.cfg.market.spread_share)
    cap = np.bincount(e.council[ed] * N_TYPES + p.ptype[prov], p.capacity[prov] * share, n)
    if not model.cfg.market.entry_on_spot:
        demand = cl.block_delivered + cl.spot_demand
        return np.maximum(demand - model.cfg.market.target_utilisation * cap, 0.0)
    # An entrant holds no contract: what it could win is the spot demand (with the council's
    # overflow) beyond what incumbents' capacity left over from their contracts serves at the
    # target utilisation.  (Counting contracted hours in full against the target would read
    # contracts run near capacity as unmet demand and bring in entrants that only share out
    # the spot sellers' work.)
    free = np.maximum(cap - cl.block_delivered, 0.0)
    return np.maximum(cl.spot_demand - model.cfg.market.target_utilisation * free, 0.0)


def market_margins(model) -> np.ndarray:
    """Last week's margin (revenue-cost)/revenue of incumbents, per (council, type)."""
    p = model.providers
    act = np.flatnonzero(p.active)
    m = p.home[act] * N_TYPES + p.ptype[act]
    n = model.council.n * N_TYPES
    rev = np.bincount(m, p.revenue[act], n)
    cost = np.bincount(m, p.cost[act], n)
    with np.errstate(invalid="ignore", divide="ignore"):
        margin = np.where(rev > 0, (rev - cost) / rev, 0.0)
    # A market with no providers at all is open to entry.
    return np.where(np.bincount(m, minlength=n) == 0, 1.0, margin)


class ProviderIndex:
    """Edges sorted by market with cumulative capacity, for sampling providers.

    Rebuilt when providers enter or leave or a new week starts (capacities change once a
    week, in the providers' phase), not on every call."""

    def __init__(self):
        self._stamp = None
        self._index = None

    def get(self, model):
        stamp = (model.t, model.providers.version, model.edges.version)
        if self._stamp == stamp:
            return self._index
        p, e = model.providers, model.edges
        ed = np.flatnonzero(e.active)
        prov = e.provider[ed]
        em = e.council[ed] * N_TYPES + p.ptype[prov]
        order = np.argsort(small_keys(em, model.council.n * N_TYPES), kind="stable")
        em, prov = em[order], prov[order]
        cum = np.cumsum(np.maximum(p.capacity[prov], 1e-9))
        n = model.council.n * N_TYPES
        lo = np.searchsorted(em, np.arange(n))
        hi = np.searchsorted(em, np.arange(n), side="right")
        base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
        top = np.where(hi > 0, cum[np.maximum(hi - 1, 0)], 0.0)
        self._index, self._stamp = (prov, cum, lo, hi, base, top), stamp
        return self._index


def sample_provider(model, markets: np.ndarray) -> np.ndarray:
    """Draw one provider per requested market (council x N_TYPES + type), weighted by
    capacity (-1 if the market has none)."""
    if markets.size == 0 or not model.edges.active.any():
        return np.full(markets.size, -1, dtype=np.int32)
    prov, cum, lo, hi, base, top = model.provider_index.get(model)
    has = hi[markets] > lo[markets]
    draw = base[markets] + model.rng.random(markets.size) * (top[markets] - base[markets])
    idx = np.clip(np.searchsorted(cum, draw, side="right"), lo[markets],
                  np.maximum(hi[markets] - 1, 0))
    return np.where(has, prov[np.minimum(idx, prov.size - 1)], -1).astype(np.int32)


def assign_main_provider(model, rows):
    """Each user's main provider: sampled from providers of their main option in their council,
    weighted by capacity (none if they use no market option).  Used for continuity (a
    provider exit disrupts its users)."""
    u = model.users
    if rows.size == 0 or not model.edges.active.any():
        u.main_provider[rows] = -1
        return
    # One uniform per row (as ``sample_provider`` draws), the rest in one compiled pass.
    index = model.provider_index.get(model)
    passes.main_provider(rows=rows, users=u, draws=model.rng.random(rows.size), index=index)


def place_first_residents(model, rows, rng):
    """The starting residents into their council's homes, each home filled to at most its
    usual occupancy (one bed in 1 + ``market.capacity_slack`` kept free, as admissions do), in
    random order, self-funders choosing among the beds (``match_payers``); any beyond that are
    placed by capacity (``assign_residents``).  Placing them
    by capacity alone would leave some homes over-full on day one, which reads as a shortage of
    beds and brings care homes in during the burn-in."""
    u, p = model.users, model.providers
    homes = np.flatnonzero(p.active & (p.ptype == RESIDENTIAL))
    usual = np.floor(p.capacity[homes] / (1 + model.cfg.market.capacity_slack)).astype(np.int64)
    slots = np.repeat(homes, usual)
    slots = slots[rng.permutation(slots.size)]
    slots = slots[np.argsort(p.home[slots], kind="stable")]
    n_c = model.council.n
    start = np.searchsorted(p.home[slots], np.arange(n_c))
    count = np.bincount(p.home[slots], minlength=n_c)
    rows = rows[rng.permutation(rows.size)]
    rows = rows[np.argsort(u.council[rows], kind="stable")]
    c = u.council[rows]
    rank = np.arange(rows.size) - np.searchsorted(c, np.arange(n_c))[c]
    ok = rank < count[c]
    placed = rows[ok]
    u.main_provider[placed] = match_payers(model, placed, slots[start[c[ok]] + rank[ok]],
                                           u.route[placed] == RES_SELF, rng)
    assign_residents(model, rows[~ok])


def match_payers(model, people, beds, own, rng) -> np.ndarray:
    """Who takes which free bed: ``people`` moving into care homes and the ``beds`` (a home's
    row for each, in the person's council) found for them; ``own`` marks those paying their
    own fees.  Self-funders choose: within each council they take the beds of the homes they
    rank highest, council-funded people (placed by the council at its rate) the beds left.  A
    self-funder ranks a home by its size, ``beds / (beds + market.beds_mean)``, with weight
    ``market.self_funder_home_choice`` against chance (larger homes hold more self-funders:
    ONS; the new homes that open are larger and built for them: Institute for Public Care,
    2017).  Returns the bed (home row) for each of ``people``; at weight 0 the beds stay as
    found."""
    cfg, p = model.cfg, model.providers
    w = cfg.market.self_funder_home_choice
    if w <= 0 or people.size == 0 or not own.any() or own.all():
        return beds
    size = p.capacity[beds] / (p.capacity[beds] + cfg.market.beds_mean)
    score = w * size + (1.0 - w) * rng.random(beds.size)
    council = model.users.council[people]
    who = np.lexsort((~own, council))           # self-funders first, within each council
    where = np.lexsort((-score, p.home[beds]))  # the best-ranked beds first, likewise
    out = np.empty_like(beds)
    out[who] = beds[where]
    return out


def assign_residents(model, rows):
    """A care home for each of ``rows`` (residents) in their council, weighted by capacity."""
    u = model.users
    u.main_provider[rows] = sample_provider(model, u.council[rows] * N_TYPES + RESIDENTIAL)


def exit_providers(model, week: Week, rows):
    """Providers leave: contracts end, their users are disrupted and re-placed."""
    if rows.size == 0:
        return
    u, p, e, t = model.users, model.providers, model.edges, week.t
    p.exit_step[rows] = t
    np.add.at(week.exits, (p.home[rows], p.ptype[rows]), 1)
    p.remove(rows)
    e.remove(np.flatnonzero(e.active & np.isin(e.provider, rows)))
    gone = np.zeros(p.size, dtype=bool)
    gone[rows] = True
    _replace(model, week, passes.users_of(users=u, gone=gone))
    model.remove_provider_agents(rows)


def _report_market(model, week: Week):
    """The market at the end of the week, per council."""
    p, e, n = model.providers, model.edges, model.council.n
    live = np.flatnonzero(p.active)
    ptype = p.ptype[live]
    ed = np.flatnonzero(e.active)
    e_type = p.ptype[e.provider[ed]]
    e_key = e.council[ed] * N_TYPES + e_type           # (council, provider type) market
    serve = np.bincount(e_key, minlength=n * N_TYPES).reshape(n, N_TYPES)
    cap_home = np.bincount(p.home[live], p.capacity_cleared[live] * (ptype != RESIDENTIAL), n)
    del_home = np.bincount(p.home[live], p.delivered[live] * (ptype != RESIDENTIAL), n)
    blk = ed[(e.block_volume[ed] > 0) & (e_type == AGENCY)]
    block_vol = np.bincount(e.council[blk], e.block_volume[blk], n)
    week.put("block_price_agency", rate(np.bincount(e.council[blk],
                                                    e.block_price[blk] * e.block_volume[blk], n),
                                        block_vol))
    week.put("block_volume_agency", block_vol)
    week.put("providers", serve.sum(axis=1))
    for i, name in enumerate(PROVIDER_TYPES):
        week.put(f"providers_{name}", serve[:, i])
    week.put("hhi", hhi(e.council[ed], e.revenue[ed], n))
    # Concentration within each (council, provider type) market: the pooled HHI mixes
    # agencies with personal assistants and always reads unconcentrated.
    by_type = hhi(e_key, e.revenue[ed], n * N_TYPES).reshape(n, N_TYPES)
    for i, name in enumerate(PROVIDER_TYPES):
        week.put(f"hhi_{name}", by_type[:, i])
    week.put("utilisation", rate(del_home, cap_home))
    key = p.home[live] * N_TYPES + ptype
    cap_t = np.bincount(key, p.capacity_cleared[live], n * N_TYPES).reshape(n, N_TYPES)
    del_t = np.bincount(key, p.delivered[live], n * N_TYPES).reshape(n, N_TYPES)
    by_type = rate(del_t.T, cap_t.T)            # one division for all types, rows by type
    for i, name in enumerate(PROVIDER_TYPES):
        week.put(f"utilisation_{name}", by_type[i])


FINANCES = Phase(
    "provider_finances", finances,
    reads="the week's sales per provider (units, £, block £), wages and pay, the labour and "
          "PA pools, the contracts renewed this week (week.renewed)",
    writes="providers' posts, staff (leavers, hires, vacancies) and staffed capacity, "
           "recruitment costs, cash, costs, margins, list prices; renewed block contracts "
           "handed back; providers out of cash or with sustained losses leave (their people "
           "are disrupted and re-placed)",
    columns=(
        Column("provider_exits", "providers", "providers leaving (out of cash, or smoothed "
               "losses beyond market.exit_margin), by home council"),
        Column("block_handbacks", "contracts", "block contracts handed back by losing "
               "providers (paying less per hour delivered than their unit cost)"),
        *(Column(f"provider_exits_{name}", "providers", f"{name} providers leaving, by home "
                 "council (day: day-centre closures)") for name in PROVIDER_TYPES),
        Column("people_displaced", "people", "people whose provider left or handed back "
               "their contract, re-placed (disrupted)"),
        *WORKFORCE_COLUMNS,
    ))
ENTRY = Phase(
    "provider_entry", provider_entry,
    reads="the week's clearing (excess demand), incumbents' margins, the labour pool",
    writes="new providers and their service edges",
    columns=(
        Column("provider_entries", "providers", "providers entering, by home council"),
        *(Column(f"provider_entries_{name}", "providers", f"{name} providers entering, by home "
                 "council") for name in PROVIDER_TYPES),
        Column("block_price_agency", "£/hour", "agency block price, volume-weighted", scale=False),
        Column("block_volume_agency", "hours/week", "agency hours under block contract"),
        Column("providers", "providers", "providers serving the council (all types)"),
        *(Column(f"providers_{name}", "providers", f"{name} providers serving the council")
          for name in PROVIDER_TYPES),
        Column("hhi", "index (0-10,000)", "Herfindahl-Hirschman index of provider revenue, "
               "all provider types pooled", scale=False),
        *(Column(f"hhi_{name}", "index (0-10,000)", f"Herfindahl-Hirschman index of {name} "
                 "providers' revenue in the council (0 if none earned any)", scale=False)
          for name in PROVIDER_TYPES),
        Column("utilisation", "share (0-1)",
               "hours delivered / capacity at clearing, non-residential providers based here", scale=False),
        *(Column(f"utilisation_{name}", "share (0-1)", f"units delivered / staffed capacity at "
                 f"clearing, {name} providers based here (care homes: beds occupied / beds; "
                 "NaN: none)", scale=False) for name in PROVIDER_TYPES),
    ))
