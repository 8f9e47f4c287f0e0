"""Shocks at a stated week: need rises, the wage floor rises, block contracts end.

A shock is something that happens *to* a settled market, mid-run, and stays (``shocks.*``
in the configuration, every one off by default).  At the start of recorded week
``shocks.week`` the phase below changes the state once; the phases that follow carry the
change forward through the model's declared state (``ShockState``, ``model.shocks``), so
before that week a shocked run is the unshocked run with the same seed, bit for bit.

* **Need rises** (``shocks.need_rise``): the eligible (formal) need of everyone present
  rises by that share (family carers give the hours they gave; total need is capped at a
  week's hours), and every entrant from then on draws need that much higher.  Councils see it
  only when they assess: a person's assessed need, budget and package follow at their next
  review (annual, or an emergency review when a carer burns out), as the council's records
  would.  Until then the need is partly unmet, and care homes see the higher need at once
  (people above the residential threshold seek a place).
* **The wage floor rises** (``shocks.wage_floor_rise``, £/hour, a statutory rise): the local
  wage is never below the new floor; providers pay it from that week, their unit costs and
  list prices follow through their own rules, councils' fee rates do not (fees are uplifted
  only by ``council.fee_uplift``).
* **Block contracts end** (``shocks.blocks_end``): every council ends every block contract at
  once (volume and guarantee gone); the council's traditional and managed-PB hours are bought
  at spot from then on, and no block is signed again (none is renewed: nothing is left).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .codes import HOURS_PER_WEEK
from .config import shocks_on
from .population import refresh_need
from .week import Phase, Week


@dataclass
class ShockState:
    """What the shocks changed, read by the phases that carry it forward (``model.shocks``;
    before the shock week: no change)."""

    need_factor: float      # multiplier on entrants' need draws (population.create_users)
    wage_floor: float       # £/hour, the wage floor in force (labour.labour_market)
    hit: bool = False       # the shocks have hit

    @classmethod
    def start(cls, cfg) -> ShockState:
        return cls(need_factor=1.0, wage_floor=cfg.market.wage_floor)


def shock_week(model) -> int | None:
    """The model week (``model.t``, burn-in included) at whose start the shocks hit, or None
    if no shock is on."""
    sc = model.cfg.shocks
    return model.cfg.burn_in_weeks + sc.week if shocks_on(sc) else None


def apply_shocks(model, week: Week):
    """At the start of the shock week (``shocks.week``, a recorded week), the shocks that are
    on hit: need rises for people present and entrants, the wage floor rises, block contracts
    end.  Every other week: nothing."""
    if model.shocks.hit or week.t != shock_week(model):
        return
    sc, s = model.cfg.shocks, model.shocks
    s.hit = True
    if sc.need_rise:
        u = model.users
        live = np.flatnonzero(u.active)
        # Formal need rises by the share; what family carers give stays as it was.
        u.total_need[live] = np.minimum(u.total_need[live] + sc.need_rise * u.need[live],
                                        HOURS_PER_WEEK)
        refresh_need(model, live)
        s.need_factor = 1.0 + sc.need_rise
    if sc.wage_floor_rise:
        s.wage_floor = model.cfg.market.wage_floor + sc.wage_floor_rise
    if sc.blocks_end:
        e = model.edges
        rows = np.flatnonzero(e.active & (e.block_volume > 0))
        e.block_volume[rows] = 0.0
        e.block_end[rows] = -1


SHOCKS = Phase(
    "shocks", apply_shocks,
    reads="shocks.* (the week and which shocks are on), the model week",
    writes="at the shock week only: need of people present (total and eligible need); the "
           "shock state (entrants' need factor, the wage floor in force); block contracts "
           "ended (volume 0)")
