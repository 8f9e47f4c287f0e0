"""Family carers: the hours they give, paid or not, the strain it puts on them, and burnout.

Paying a carer from a direct payment can add care (hours from their spare time) or replace
care they gave unpaid (they are now paid for it): a carer living with the person mostly
replaces (``carers.replace_share_resident``), one living elsewhere mostly adds, so the same
payment buys different amounts of extra care.  Pay relieves part of the strain of paid hours
(income, recognition); day and community support give respite.  Each carer's strain moves
toward the level their load implies (plus their own resilience); a carer above the burnout
threshold may burn out (a common random number) and withdraw, and the person's formal need
then jumps by the unpaid hours the carer had been giving.
"""

from __future__ import annotations

import numpy as np

from . import crn, passes
from .accounting import pay_family
from .planning import reassess
from .population import refresh_need
from .week import Column, Phase, Week, rate


def family_care(model, week: Week):
    """Paid family hours and their pay, strain, burnout."""
    cfg, u, c = model.cfg, model.users, model.carers
    cc, n_c = cfg.carers, model.council.n
    # One pass over all carer rows: load = (unpaid + paid x (1 - payment_relief)) / available
    # hours; strain moves by strain_rate x (load - recovery load) minus respite; burnout with
    # a probability rising above the threshold.
    pay, risk, sums = passes.family_pass(carers=c, users=u, carer_cfg=cc, n_councils=n_c)
    paying = np.flatnonzero(pay > 0)
    user, pay = c.user[paying], pay[paying]
    # Burnout: only carers above the threshold can burn out; draw for them alone.
    over = (c.strain[risk] - cc.burnout_threshold) / max(1 - cc.burnout_threshold, 1e-9)
    draw = crn.uniform(cfg.seed, "burnout", u.uid[c.user[risk]], week.t)
    burnt = risk[draw < cc.burnout_hazard * over]
    # The record counts the carers still caring at the end of the week.
    bc = u.council[c.user[burnt]]
    np.subtract.at(sums, (bc, 0), 1.0)
    np.subtract.at(sums, (bc, 1), c.strain[burnt])
    np.subtract.at(sums, (bc, 2), (c.paid[burnt] > 0).astype(float))
    burnouts = np.zeros(n_c, dtype=np.int64)
    if burnt.size:
        burnouts = np.bincount(u.council[c.user[burnt]], minlength=n_c)
        model.council.burnouts_total += burnouts
        withdraw(model, burnt, week.t)
    pay_family(model, week.ledger, user, pay)
    week.put("carers", sums[:, 0].astype(np.int64))
    week.put("carer_strain_mean", rate(sums[:, 1], sums[:, 0]))
    week.put("carers_paid", sums[:, 2].astype(np.int64))
    week.put("carer_burnouts", burnouts)


def withdraw(model, carer_rows, t):
    """A carer stops caring: the link goes, need is re-assessed at once (emergency review)."""
    u, c = model.users, model.carers
    users = c.user[carer_rows]
    c.burnt_out[carer_rows] = True
    u.carer[users] = -1
    u.informal[users] = 0.0
    c.remove(carer_rows)
    refresh_need(model, users)
    reassess(model, users, t)


FAMILY_CARE = Phase(
    "family_care", family_care,
    reads="people's mixes and delivered day/community hours; carers' hours and strain",
    writes="paid family hours and pay (debited from direct payments; ledger), carers' strain; "
           "burnt-out carers withdraw and their person's need is re-assessed",
    columns=(Column("carers", "people", "family carers still caring at the end of the week"),
             Column("carer_strain_mean", "strain (0-1)", "their mean strain", scale=False),
             Column("carers_paid", "people", "of whom paid from a direct payment"),
             Column("carer_burnouts", "people", "carers who burnt out and withdrew this week")))
