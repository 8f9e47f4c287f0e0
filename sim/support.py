"""A person's support: the traditional package, its cost, and the mix of support a person
composes (``compose_mix``), used by the rollout, reviews, entrants and the set-up alike."""

from __future__ import annotations

import numpy as np

from . import passes
from .codes import AGENCY, DAY, N_OPTIONS
from .providers import assign_main_provider


def traditional_mix(model, rows, hours=None) -> np.ndarray:
    """A traditional package: personal care from an agency, the rest from a day service."""
    u = model.users
    h = u.need[rows] if hours is None else hours
    mix = np.zeros((rows.size, N_OPTIONS))
    mix[:, AGENCY] = h * u.pc_share[rows]
    mix[:, DAY] = h * (1 - u.pc_share[rows])
    return mix


def traditional_cost(model, rows, hours=None, agency_factor=None) -> np.ndarray:
    """£/week the council would pay for this need under block contracts (the saving's
    baseline)."""
    u, m = model.users, model.cfg.market
    h = u.need[rows] if hours is None else hours
    factor = m.agency_intensive_factor if agency_factor is None else agency_factor
    return passes.traditional_cost(hours=h, pc_share=u.pc_share[rows], council=u.council[rows],
                                   block_price=model.council.block_price, agency_factor=factor,
                                   market=m)


def compose_mix(model, rows):
    """Set each user's mix of care hours by route (one fused pass, ``kernels.compose_mix``).

    * Traditional packages and self-funders: the assessed need as agency (personal care) and
      day care (the rest).
    * A personal-budget holder covers personal care from an agency, personal assistants or
      paid family, and the rest from day care, PAs, community activities or paid family.
      Each option's value per hour falls as more of it is used (``behaviour.mix_satiation``),
      so people mix options; they weigh fit against price relative to agency care
      (``behaviour.price_sensitivity``).  What they know of the options depends on planning:
      a plan of quality q reveals q of each option's true fit (the rest looks average), and
      community activities and recruiting PAs are found only through a plan or a broker, so
      an unplanned holder mostly re-buys the old package.  Options must fit
      (``behaviour.fit_threshold``); agency and day care are always the fallback.  A PA is
      employed by the person, which takes a direct payment (unless
      ``policy.pa_needs_direct_payment`` is off).  Paid family hours are the carer's spare
      hours under the council's payment rule; paying a carer who already gives care unpaid
      also pays for some of those hours (``carers.replace_share_*``), so an added family hour
      costs more than the family rate.  PAs, community places and family hours have caps.
    * Prices are spot prices, except that a managed PB buys agency and day care through the
      council's contracts (block rates).
    * A mix costing more than the budget is cut to it (the person goes short); its costs
      before and after the cut are kept for the saving's decomposition.
    """
    if rows.size == 0:
        return
    passes.compose_mix(rows=rows, users=model.users, carers=model.carers,
                       spot_price=model.spot_price_ct, block_price=model.council.block_price,
                       cfg=model.cfg)
    assign_main_provider(model, rows)
