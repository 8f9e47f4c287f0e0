"""Providers' side of the market: initial market, staffing, prices, finances, entry and exit.

Providers' decisions are simple rules applied to all of them at once: staff toward recent
demand (limited by the council's care-worker pool), move spot prices toward a target
utilisation (never below labour cost), pay wages and overheads, leave when cash runs out,
and enter where demand is unmet and margins are good.
"""

from __future__ import annotations

import numpy as np

from .state import AGENCY, COMMUNITY, DAY, N_TYPES, PA, RESIDENTIAL

WEEKS = 52.0


def labour_per_unit(cfg) -> np.ndarray:
    """Paid staff hours per billable unit, by provider type."""
    m = cfg.market
    return np.array([m.travel_factor_agency, m.labour_day, 1.0, m.labour_community,
                     m.labour_residential])


def typical_size(cfg) -> np.ndarray:
    m = cfg.market
    return np.array([m.agency_hours_mean, m.day_hours_mean, m.pa_hours, m.community_hours_mean,
                     m.beds_mean])


def unit_labour_cost(cfg, ptype, wage):
    return labour_per_unit(cfg)[ptype] * wage * cfg.market.on_cost


def weekly_costs(cfg, ptype, capacity, delivered, wage, overhead):
    """Labour (a fixed share paid on staffed capacity, the rest per unit delivered) + overhead.

    Personal assistants are paid only for hours worked, and community groups pay sessional
    staff per session run, so neither has fixed labour."""
    fixed = np.where((ptype == PA) | (ptype == COMMUNITY), 0.0, cfg.market.labour_fixed_share)
    paid_units = fixed * capacity + (1 - fixed) * np.minimum(delivered, capacity)
    return paid_units * unit_labour_cost(cfg, ptype, wage) + overhead


def start_prices(cfg) -> np.ndarray:
    m = cfg.market
    return np.array([m.spot_price_agency, m.spot_price_day, m.price_pa, m.price_community,
                     cfg.council.block_price_residential])


def add_providers(model, ptype, home, capacity, price, rng, cash_weeks=None):
    """Create providers (rows + Mesa agents) with edges to their home and maybe neighbours."""
    cfg, p = model.cfg, model.providers
    rows = p.add(ptype.size)
    p.ptype[rows] = ptype
    p.home[rows] = home
    p.capacity[rows] = capacity
    p.price[rows] = price
    p.entered_step[rows] = model.steps_done
    # Community groups (clubs, lunch clubs, activity groups) run on members' fees, grants and
    # volunteers: PB holders pay per session and do not carry their overheads, so a group does
    # not fold for want of PB custom (assumption).
    p.overhead[rows] = np.where(ptype == COMMUNITY, 0.0,
                                cfg.market.overhead_share * capacity * price)
    weekly_cost = weekly_costs(cfg, ptype, capacity, capacity, model.wage[home], p.overhead[rows])
    p.cash[rows] = weekly_cost * (cfg.market.cash_weeks if cash_weeks is None else cash_weeks)
    p.delivered_ema[rows] = capacity / (1 + cfg.market.capacity_slack)
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
    model.on_providers_added(rows)
    return rows


def initial_market(model, demand_units, rng):
    """Size each (council, type) market to the starting demand plus slack."""
    cfg = model.cfg
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
                need = size[t] * (3 if t == PA else 1)
            k = max(1, int(round(need / size[t])))
            share = rng.dirichlet(np.full(k, 2.0)) if t != PA else np.full(k, 1.0 / k)
            types.append(np.full(k, t, np.int8))
            homes.append(np.full(k, c, np.int32))
            caps.append(need * share)
            price.append(prices[t] * rng.normal(1.0, 0.05, k) if t != RESIDENTIAL
                         else np.full(k, prices[t]))
    rows = add_providers(model, np.concatenate(types), np.concatenate(homes),
                         np.concatenate(caps), np.concatenate(price), rng)
    return rows


def initial_blocks(model, trad_units):
    """Block contracts with the largest agencies/day services/homes of each council."""
    cfg, e, p = model.cfg, model.edges, model.providers
    rows = np.flatnonzero(e.active & (e.council == p.home[e.provider]))
    t = p.ptype[e.provider[rows]]
    for typ in (AGENCY, DAY, RESIDENTIAL):
        r = rows[t == typ]
        for c in range(model.council.n):
            rc = r[e.council[r] == c]
            if rc.size == 0:
                continue
            top = rc[np.argsort(-p.capacity[e.provider[rc]], kind="stable")][
                :max(1, cfg.council.block_providers)]
            vol = cfg.council.block_share * trad_units[c, typ]
            cap = p.capacity[e.provider[top]]
            e.block_volume[top] = np.minimum(vol * cap / cap.sum(), cap)
            e.block_price[top] = model.council.block_price[c, typ]
            # Staggered end dates, so renewals do not all fall in one week.
            e.block_end[top] = model.rng.integers(1, cfg.council.block_duration_weeks + 1, top.size)


def finances(model, delivered, revenue, block_revenue):
    """Phase: book the week's revenue and costs, adjust prices and staffing, exits."""
    cfg, p = model.cfg, model.providers
    m = cfg.market
    act = np.flatnonzero(p.active)
    ptype = p.ptype[act]
    wage = np.maximum(model.wage[p.home[act]], p.own_wage[act])
    unit_cost = unit_labour_cost(cfg, ptype, wage)
    cost = weekly_costs(cfg, ptype, p.capacity[act], delivered[act], wage, p.overhead[act])
    p.delivered[act] = delivered[act]
    p.revenue[act] = revenue[act]
    p.block_revenue[act] = block_revenue[act]
    p.cost[act] = cost
    p.cash[act] += revenue[act] - cost
    p.cum_revenue[act] += revenue[act]
    p.cum_cost[act] += cost
    p.delivered_ema[act] = 0.9 * p.delivered_ema[act] + 0.1 * delivered[act]

    # Prices move with demand pressure (units asked / capacity, which exceeds 1 when buyers are
    # turned away) toward the target utilisation, at most 5% a week; never below labour cost.
    with np.errstate(invalid="ignore", divide="ignore"):
        pressure = np.where(p.capacity[act] > 0, p.asked[act] / p.capacity[act], 0.0)
    spot = ptype != RESIDENTIAL
    change = np.clip(m.price_adjust * (pressure - m.target_utilisation), -0.05, 0.05)
    new_price = p.price[act] * (1 + change)
    p.price[act] = np.where(spot, np.maximum(new_price, unit_cost), p.price[act])

    # Staffing toward recent demand plus slack; hires limited by the care-worker pool.
    flexible = (ptype != PA) & (ptype != RESIDENTIAL)
    target = p.delivered_ema[act] * (1 + m.capacity_slack)
    gap = np.where(flexible, m.staff_adjust * (target - p.capacity[act]), 0.0)
    lab = labour_per_unit(cfg)[ptype]
    hires = np.maximum(gap, 0.0) * lab
    free = np.maximum(model.labour_pool - model.labour_used(), 0.0)
    want = np.bincount(p.home[act], hires, model.council.n)
    with np.errstate(invalid="ignore", divide="ignore"):
        allow = np.where(want > free, free / want, 1.0)
    gap = np.where(gap > 0, gap * allow[p.home[act]], gap)
    p.capacity[act] = np.maximum(p.capacity[act] + gap, 0.0)

    # Exit when cash is below the tolerated overdraft.
    insolvent = act[p.cash[act] < -m.overdraft_weeks * cost]
    model.remove_providers(insolvent)


def entry(model, excess, margin_by_market):
    """Phase: new providers enter markets with excess demand and good margins.

    ``excess`` is demand beyond what incumbents serve at their target utilisation (units).
    """
    cfg, rng = model.cfg, model.rng
    n_c = model.council.n
    size = typical_size(cfg)
    types = np.tile(np.arange(N_TYPES), n_c)
    councils = np.repeat(np.arange(n_c), N_TYPES)
    ok = (excess > 0) & (margin_by_market > cfg.market.entry_margin) & (types != RESIDENTIAL)
    rate = np.where(types == PA, cfg.market.pa_entry_rate, cfg.market.entry_rate)
    lam = np.where(ok, rate * excess / size[types], 0.0)
    k = rng.poisson(np.minimum(lam, 1e6))
    if k.sum() == 0:
        return np.empty(0, np.int64)
    t = np.repeat(types, k).astype(np.int8)
    c = np.repeat(councils, k).astype(np.int32)
    cap = np.where(t == PA, size[PA], size[t] * rng.uniform(0.3, 0.7, t.size))
    # Entrants need care workers too.
    free = np.maximum(model.labour_pool - model.labour_used(), 0.0)
    lab = labour_per_unit(cfg)[t] * cap
    order = np.argsort(rng.random(t.size))
    t, c, cap, lab = t[order], c[order], cap[order], lab[order]
    room = np.zeros(t.size, dtype=bool)
    for cc in np.unique(c):
        idx = np.flatnonzero(c == cc)
        room[idx] = np.cumsum(lab[idx]) <= free[cc]
    t, c, cap = t[room], c[room], cap[room]
    if t.size == 0:
        return np.empty(0, np.int64)
    price = model.spot_price_ct[c, t] * rng.normal(1.0, 0.03, t.size)
    return add_providers(model, t, c, cap, price, rng, cash_weeks=cfg.market.cash_weeks / 2)

