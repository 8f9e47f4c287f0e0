"""Family carers: the hours they give, paid or not, the strain it puts on them, and burnout.

Paying a carer from a direct payment buys hours the carer would not otherwise give (so total
hours rise) and relieves part of the strain those hours cause (income, recognition); day and
community support give respite.  A carer whose strain stays high may burn out and withdraw,
and the person's formal need then jumps by the unpaid hours the carer had been giving.
"""

from __future__ import annotations

import numpy as np

from .state import COMMUNITY, DAY, FAMILY


def family_care(model):
    """Phase: paid family hours, strain, burnout. Returns £ paid to carers per user row."""
    cfg, u, c, rng = model.cfg, model.users, model.carers, model.rng
    cc = cfg.carers
    act = np.flatnonzero(c.active)
    user = c.user[act]
    spare = np.maximum(c.available[act] - c.informal[act], 0.0) * cc.paid_extra_share
    paid = np.minimum(u.mix[FAMILY, user], spare)
    c.paid[act] = paid
    u.delivered[FAMILY, user] = paid
    pay = paid * cc.family_rate
    c.cum_received[act] += pay

    avail = np.maximum(c.available[act], 1.0)
    load = (c.informal[act] + paid * (1 - cc.payment_relief)) / avail
    respite = (u.delivered[DAY, user] + u.delivered[COMMUNITY, user]) / 10.0
    strain = c.strain[act] + cc.strain_rate * (load - cc.strain_recovery_load) \
        - cc.respite_relief * respite
    c.strain[act] = np.clip(strain, 0.0, 1.0)

    over = np.maximum(c.strain[act] - cc.burnout_threshold, 0.0) / max(1 - cc.burnout_threshold, 1e-9)
    burnt = act[rng.random(act.size) < cc.burnout_hazard * over]
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
