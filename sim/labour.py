"""The care-worker labour market: one pool of care workers per council, shared by every
provider based there (agencies, day services, community groups, care homes and personal
assistants), the wage it sets, and each provider's workforce.

The pool grows slowly.  Each week (``staffing``, called by the providers' phase) staff leave
each provider at its type's annual turnover rate, more often where it pays below the
council's going rate; providers fill a share of their open posts from the workers the pool
has free, the best-paying first, and pay to recruit them; posts they cannot fill are
vacancies, and a provider can sell only the hours it has staff for (care homes cover vacant
posts and keep their beds).  Personal assistants are hired from a PA pool beside it: the
people willing to work for a direct-payment holder, which grows with PA demand and with PA
pay relative to the care-worker wage (``labour_market``); PAs also count in the shared pool.
Posts employed or sought over the pool is the market's tightness, which pushes the local wage
up (never below the wage floor, read each week).
"""

from __future__ import annotations

import numpy as np

from . import passes
from .codes import COMMUNITY, DAY, N_TYPES, PA, PROVIDER_TYPES, RESIDENTIAL, WEEKS_PER_YEAR
from .week import Column, Phase, Week, rate


def labour_per_unit(cfg) -> np.ndarray:
    """Paid staff hours per billable unit, by provider type (``codes.PROVIDER_TYPES``)."""
    m = cfg.market
    return np.array([m.travel_factor_agency, m.labour_day, 1.0, m.labour_community,
                     m.labour_residential])


def unit_labour_cost(cfg, ptype, wage):
    """£ of labour per billable unit for providers of type ``ptype`` paying ``wage`` £/hour."""
    return labour_per_unit(cfg)[ptype] * wage * cfg.market.on_cost


def overhead_share(cfg, ptype):
    """Weekly fixed overhead as a share of start revenue at full capacity, by provider type:
    day centres carry their building (``market.day_overhead_share``), community groups run on
    volunteers and members' fees (none), everyone else ``market.overhead_share``; care homes'
    fixed costs are not a share of revenue (``home_fixed_cost``)."""
    m = cfg.market
    return np.where((ptype == COMMUNITY) | (ptype == RESIDENTIAL), 0.0,
                    np.where(ptype == DAY, m.day_overhead_share, m.overhead_share))


def home_fixed_cost(cfg, capital) -> np.ndarray:
    """£/week per bed a care home carries whatever its occupancy: its non-staff running costs
    (``market.home_running_cost``) and the return on its capital (``capital``, £ per
    resident-week), both per resident of its usual occupancy (one bed in
    1 + ``market.capacity_slack`` kept free)."""
    m = cfg.market
    return (m.home_running_cost + np.asarray(capital, dtype=float)) / (1.0 + m.capacity_slack)


def home_overhead(cfg, capital, beds) -> np.ndarray:
    """£/week a care home of ``beds`` beds carries whatever its occupancy: ``home_fixed_cost``
    per bed, with its manager's cost (``market.home_manager_cost``) counted once per home
    instead of per bed.  Laing's per-bed costs are those of a typical home
    (``market.beds_mean`` beds), which costs the same either way; a smaller home spreads its
    manager over fewer beds and costs more per bed, a larger one less (economies of scale)."""
    m = cfg.market
    beds = np.asarray(beds, dtype=float)
    return home_fixed_cost(cfg, capital) * beds + m.home_manager_cost * (1.0 - beds / m.beds_mean)


def home_full_cost(cfg) -> float:
    """£ per resident-week: a care home's full cost at the starting wage (never below the wage
    floor) and the target utilisation, its capital cost midway between floor and ceiling, its
    expected recruitment included: the ``unit_cost`` ``providers.finances`` prices on."""
    m = cfg.market
    wage = max(m.wage, m.wage_floor)
    labour = float(unit_labour_cost(cfg, RESIDENTIAL, wage))
    tu, fixed = m.target_utilisation, m.labour_fixed_share
    capital = 0.5 * (m.home_capital_cost_floor + m.home_capital_cost_ceiling)
    per_bed = (labour * (fixed + (1 - fixed) * tu) + float(home_fixed_cost(cfg, capital))
               + float(expected_recruit_cost(cfg, np.array([RESIDENTIAL]), 1.0)[0]))
    return per_bed / max(tu, 1e-9)


def start_cost_floor(cfg) -> np.ndarray:
    """The lowest price per unit, by provider type, at which a provider covers its labour at the
    starting wage (never below the wage floor) and its overhead (``overhead_share`` of its
    revenue; a care home: its non-staff running costs per resident, not the return on its
    capital, which a council's rate may leave unpaid): prices start at or above it."""
    m = cfg.market
    wage = max(m.wage, m.wage_floor)
    ptype = np.arange(len(PROVIDER_TYPES))
    floor = unit_labour_cost(cfg, ptype, wage) / np.maximum(1.0 - overhead_share(cfg, ptype), 1e-9)
    floor[RESIDENTIAL] = unit_labour_cost(cfg, RESIDENTIAL, wage) + m.home_running_cost
    return floor


def labour_used(model) -> np.ndarray:
    """Staff hours/week providers based in each council employ."""
    p = model.providers
    act = np.flatnonzero(p.active)
    lab = labour_per_unit(model.cfg)[p.ptype[act]] * p.staffed[act]
    return np.bincount(p.home[act], lab, model.council.n)


def labour_sought(model) -> np.ndarray:
    """Staff hours/week providers based in each council employ or seek (vacant posts)."""
    p = model.providers
    act = np.flatnonzero(p.active)
    lab = labour_per_unit(model.cfg)[p.ptype[act]] * np.maximum(p.posts[act], p.staffed[act])
    return np.bincount(p.home[act], lab, model.council.n)


def pa_employed(model) -> np.ndarray:
    """Personal-assistant hours/week in post, per council."""
    p = model.providers
    pa = np.flatnonzero(p.active & (p.ptype == PA))
    return np.bincount(p.home[pa], p.staffed[pa], model.council.n)


def turnover_by_type(cfg) -> np.ndarray:
    """Leavers per year / staff in post, by provider type (``codes.PROVIDER_TYPES``)."""
    m = cfg.market
    return np.array([m.turnover_agency, m.turnover_other, m.turnover_pa, m.turnover_other,
                     m.turnover_residential])


def recruit_ahead(cfg, ptype) -> np.ndarray:
    """Posts a provider keeps open beyond the staff it needs, share of them: its weekly
    leavers over the share of open posts filled a week, so that in a steady state it has the
    staff it needs (at most a half)."""
    m = cfg.market
    weekly = turnover_by_type(cfg)[ptype] / WEEKS_PER_YEAR
    return np.minimum(weekly / max(m.vacancy_fill_rate, 1e-9), 0.5)


def _allocate(group, pay, want, free):
    """Workers free in each ``group`` (a pool) go to the providers paying most first; those
    paying the same share what is left pro rata.  Returns staff hours each provider gets
    (one compiled pass, ``kernels.allocate_staff``)."""
    return passes.allocate_staff(pool=group, pay=pay, want=want, free=free)


def staffing(model, week: Week, act) -> np.ndarray:
    """One week of each active provider's workforce (``act``: rows; their ``posts`` already
    set): staff leave, open posts are filled from the pool (the best-paying first), and
    providers other than care homes can sell only the units they have staff for.  Fills the
    workforce columns; returns each provider's recruitment cost (£ this week)."""
    cfg, n_c = model.cfg, model.council.n
    m = cfg.market
    # Leavers: each type's turnover, more where a provider pays below the going rate (what
    # care-worker employers in the council pay, weighted by staff; a personal assistant earns
    # the price paid for the hour less the employer's on-costs, others the local wage or
    # their own if higher);
    # surplus staff beyond the posts are not replaced when they leave, and let go.  Open
    # posts: a share is filled this week, from the workers free in the council's pool
    # (personal assistants from the PA pool), the best-paying first (``_allocate``).  All in
    # one compiled pass (``kernels.staffing``).
    recruit, vacant, wanted, leaving, before, hired, recruiting = passes.staffing(
        act=act, providers=model.providers, wage=model.wage, labour_pool=model.labour_pool,
        pa_pool=model.pa_pool, labour_per_unit=labour_per_unit(cfg),
        turnover=turnover_by_type(cfg), market=m, n_councils=n_c)

    vacant = vacant.reshape(n_c, N_TYPES)
    wanted = wanted.reshape(n_c, N_TYPES)
    week.put("vacancy_rate", rate(vacant.sum(axis=1), wanted.sum(axis=1)))
    by_type = rate(vacant.T, wanted.T)          # one division for all types, rows by type
    for i, name in enumerate(PROVIDER_TYPES):
        week.put(f"vacancy_rate_{name}", by_type[i])
    week.put("turnover_rate", WEEKS_PER_YEAR * rate(leaving, before))
    week.put("staff_leavers", leaving / m.worker_hours)
    week.put("staff_hires", hired / m.worker_hours)
    week.put("recruitment_cost", recruiting)
    return recruit


def expected_recruit_cost(cfg, ptype, staffed) -> np.ndarray:
    """£/week a provider expects to pay to replace its leavers at its type's base turnover."""
    lab = labour_per_unit(cfg)[ptype]
    per_week = turnover_by_type(cfg)[ptype] / WEEKS_PER_YEAR * lab * staffed
    return np.where(ptype == PA, 0.0, per_week / cfg.market.worker_hours * cfg.market.recruit_cost)


WORKFORCE_COLUMNS = (
    Column("vacancy_rate", "share (0-1)", "vacant staff hours / staff hours of the posts "
           "providers based here want filled (all types)", scale=False),
    *(Column(f"vacancy_rate_{name}", "share (0-1)", f"vacancy rate of {name} providers based "
             "here (NaN: none)", scale=False) for name in PROVIDER_TYPES),
    Column("turnover_rate", "share per year", "staff leaving this week x 52 / staff in post "
           "(annualised turnover; leavers re-enter the pool)", scale=False),
    Column("staff_leavers", "workers/week", "care workers (and PAs) leaving their employer, in "
           "workers of market.worker_hours"),
    Column("staff_hires", "workers/week", "care workers (and PAs) hired, in workers of "
           "market.worker_hours"),
    Column("recruitment_cost", "£/week", "providers' cost of recruiting the staff they hired "
           "(market.recruit_cost per worker; none for PAs)"),
)


def pa_supply(model, week: Week):
    """The PA pool moves toward the supply PA demand and PA pay call for; returns the PA
    market's demand and shortfall (hours/week) per council."""
    m, n_c = model.cfg.market, model.council.n
    cl = week.clearing
    pa_m = np.arange(n_c) * N_TYPES + PA
    demand = cl.spot_demand[pa_m] + cl.block_delivered[pa_m]
    short = np.maximum(demand - cl.spot_delivered[pa_m] - cl.block_delivered[pa_m], 0.0)
    ratio = model.spot_price_ct[:, PA] / m.on_cost / np.maximum(model.wage, 1e-9)
    target = demand * (1 + m.capacity_slack) * (ratio / m.pa_pay_ratio_ref) ** m.pa_pay_elasticity
    floor = m.initial_pa_count * m.pa_hours
    model.pa_pool = np.maximum(model.pa_pool + m.pa_supply_adjust * (target - model.pa_pool),
                               floor)
    return demand, short


def labour_market(model, week: Week):
    """The care-worker pool grows; a tight pool (staff employed or sought) pushes wages up,
    never below the floor in force (``market.wage_floor``, raised by a wage shock:
    ``model.shocks.wage_floor``, read each week); the PA pool follows PA demand and pay."""
    m = model.cfg.market
    model.labour_pool *= (1 + m.labour_growth) ** (1 / WEEKS_PER_YEAR)
    tight = labour_sought(model) / np.maximum(model.labour_pool, 1e-9)
    model.wage = np.maximum(model.shocks.wage_floor, m.wage * (1 + m.wage_pressure *
                                                    np.maximum(tight - m.wage_knee, 0.0)))
    demand, short = pa_supply(model, week)
    week.put("wage", model.wage.copy())
    week.put("labour_tightness", tight)
    week.put("pa_supply", model.pa_pool.copy())
    week.put("pa_employed", pa_employed(model))
    week.put("pa_demand", demand)
    week.put("pa_shortfall", short)


LABOUR_MARKET = Phase(
    "labour_market", labour_market,
    reads="providers' posts and staff, the labour pool, the wage floor in force (shocks), the "
          "week's PA market (demand, delivered, price)",
    writes="the labour pool, the local wage, the PA pool",
    columns=(Column("wage", "£/hour", "care-worker wage in the council", scale=False),
             Column("labour_tightness", "share", "staff hours employed or sought (vacant "
                    "posts) / care-worker pool", scale=False),
             Column("pa_supply", "hours/week", "PA pool: hours people in the council are "
                    "willing to work as personal assistants"),
             Column("pa_employed", "hours/week", "personal-assistant hours in post"),
             Column("pa_demand", "hours/week", "PA hours people asked for this week"),
             Column("pa_shortfall", "hours/week", "PA hours asked for but not delivered "
                    "(not enough PAs)")))
