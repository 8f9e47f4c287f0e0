"""The care-worker labour market: one pool of care workers per council, shared by every
provider based there, and the wage it sets.

The pool grows slowly; staffing a provider takes workers from it (``labour_used``), so hiring
and entry are limited by what is left, and a tight pool pushes the local wage up (never
below the wage floor).
"""

from __future__ import annotations

import numpy as np

from .codes import COMMUNITY, DAY, PROVIDER_TYPES, WEEKS_PER_YEAR
from .week import Column, Phase, Week


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
    volunteers and members' fees (none), everyone else ``market.overhead_share``."""
    m = cfg.market
    return np.where(ptype == COMMUNITY, 0.0, np.where(ptype == DAY, m.day_overhead_share,
                                                      m.overhead_share))


def start_cost_floor(cfg) -> np.ndarray:
    """The lowest price per unit, by provider type, at which a provider covers its labour at the
    starting wage (never below the wage floor) and its overhead (``overhead_share`` of its
    revenue): prices start at or above it."""
    m = cfg.market
    wage = max(m.wage, m.wage_floor)
    ptype = np.arange(len(PROVIDER_TYPES))
    return unit_labour_cost(cfg, ptype, wage) / np.maximum(1.0 - overhead_share(cfg, ptype), 1e-9)


def labour_used(model) -> np.ndarray:
    """Staff hours/week providers based in each council employ."""
    p = model.providers
    act = np.flatnonzero(p.active)
    lab = labour_per_unit(model.cfg)[p.ptype[act]] * p.capacity[act]
    return np.bincount(p.home[act], lab, model.council.n)


def labour_market(model, week: Week):
    """The care-worker pool grows; a tight pool pushes wages up (never below the floor in
    force: ``market.wage_floor``, raised by a wage shock, ``model.shocks.wage_floor``)."""
    m = model.cfg.market
    model.labour_pool *= (1 + m.labour_growth) ** (1 / WEEKS_PER_YEAR)
    tight = labour_used(model) / np.maximum(model.labour_pool, 1e-9)
    model.wage = np.maximum(model.shocks.wage_floor, m.wage * (1 + m.wage_pressure *
                                                    np.maximum(tight - m.wage_knee, 0.0)))
    week.put("wage", model.wage.copy())
    week.put("labour_tightness", tight)


LABOUR_MARKET = Phase(
    "labour_market", labour_market,
    reads="providers' staffed capacity, the labour pool, the wage floor in force (shocks)",
    writes="the labour pool and the local wage",
    columns=(Column("wage", "£/hour", "care-worker wage in the council", scale=False),
             Column("labour_tightness", "share", "staff hours employed / care-worker pool", scale=False)))
