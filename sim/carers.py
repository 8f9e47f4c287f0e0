"""Family carers: the hours they give, paid or not, the strain it puts on them, and burnout.

Paying a carer from a direct payment buys hours the carer would not otherwise give (so total
hours rise) and relieves part of the strain those hours cause (income, recognition); day and
community support give respite.  A carer whose strain stays high may burn out and withdraw,
and the person's formal need then jumps by the unpaid hours the carer had been giving.
"""

from __future__ import annotations

import numpy as np

from . import kernels


def family_care(model):
    """Phase: paid family hours, strain, burnout. Returns £ paid to carers per user row."""
    cfg, u, c, rng = model.cfg, model.users, model.carers, model.rng
    cc = cfg.carers
    # One pass over all carer rows (kernels.family_pass): load = (unpaid + paid x (1 -
    # payment_relief)) / available hours; strain moves by strain_rate x (load - recovery load)
    # minus respite; burnout with a probability rising above the threshold.
    pay, risk, sums = kernels.family_pass(
        c.active, c.user, c.available, c.informal, c.strain, c.paid, c.cum_received, u.mix,
        u.delivered, cc.paid_extra_share, cc.family_rate, cc.payment_relief, cc.strain_rate,
        cc.strain_recovery_load, cc.respite_relief, cc.burnout_threshold, u.council,
        model.council.n)
    paying = np.flatnonzero(pay > 0)
    user, pay = c.user[paying], pay[paying]
    # Burnout: only carers above the threshold can burn out; draw for them alone.
    over = (c.strain[risk] - cc.burnout_threshold) / max(1 - cc.burnout_threshold, 1e-9)
    burnt = risk[rng.random(risk.size) < cc.burnout_hazard * over]
    # The record counts the carers still caring at the end of the week.
    bc = u.council[c.user[burnt]]
    np.subtract.at(sums, (bc, 0), 1.0)
    np.subtract.at(sums, (bc, 1), c.strain[burnt])
    np.subtract.at(sums, (bc, 2), (c.paid[burnt] > 0).astype(float))
    model.carer_sums = sums
    if burnt.size:
        model.council.burnouts[:] = np.bincount(u.council[c.user[burnt]], minlength=model.council.n)
        model.council.burnouts_total += model.council.burnouts
        withdraw(model, burnt)
    return user, pay


def withdraw(model, carer_rows):
    """A carer stops caring: the link goes, need is re-assessed at once (emergency review)."""
    from .planning import reassess
    from .population import refresh_need

    u, c = model.users, model.carers
    users = c.user[carer_rows]
    c.burnt_out[carer_rows] = True
    u.carer[users] = -1
    u.informal[users] = 0.0
    c.remove(carer_rows)
    refresh_need(model, users)
    reassess(model, users[u.route[users] != 4])
