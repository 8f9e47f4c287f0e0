"""Outcomes of each person: quality of life and choice/control, from what actually happened.

Quality of life combines need met, how well the support fits the person's preferences and how
much control they have, minus the burden of running a direct payment without help and the
disruption when a provider fails.  Nobody's outcome is set directly: a person is better or
worse off after a move to a personal budget because these ingredients changed.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .state import DP, GONE, MPB, SELF, TRAD


def _situation_tables(b):
    """Control-and-burden terms for each (route, helped, planned) situation.

    ``helped`` means a family carer or a broker shares the work of a direct payment; without
    support planning the burden is ``unplanned_burden_mult`` times larger.
    """
    control = np.zeros(GONE + 1)
    control[[TRAD, MPB, DP, SELF]] = (b.control_traditional, b.control_managed, b.control_dp,
                                      b.control_dp)
    route, helped, planned = np.meshgrid(np.arange(GONE + 1), [0, 1], [0, 1], indexing="ij")
    burden = np.where(route == DP, b.dp_admin_burden * np.where(helped, 0.3, 1.0), 0.0)
    burden = burden * np.where(planned, 1.0, b.unplanned_burden_mult)
    ctrl = control[route]
    qol_part = (b.w_control * ctrl - burden).ravel()
    choice_part = (0.8 * ctrl * (1 - np.minimum(burden * 2, 1.0))).ravel()
    return qol_part, choice_part


def update_outcomes(model):
    """Phase: outcomes for every community user (residents keep theirs), in one fused pass
    that also leaves the per-council sums the weekly record needs in ``model.user_sums``."""
    cfg, u, t = model.cfg, model.users, model.steps_done
    b = cfg.behaviour
    qol_tab, choice_tab = _situation_tables(b)
    hours = np.empty(u.size)
    sums, queue = kernels.outcomes(
        u.delivered, u.fit, u.need, u.route, u.council, u.carer, u.brokered, u.planned,
        u.disrupted_until, u.in_queue, u.planning_until, t, b.w_met, b.w_fit,
        b.disruption_penalty, qol_tab, choice_tab, u.met, u.qol, u.choice, hours, model.council.n)
    model.hours_delivered = hours
    model.user_sums = dict(zip(("count", "need", "unmet", "qol", "choice"), sums, strict=True))
    model.queue_counts = queue
