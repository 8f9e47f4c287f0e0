"""Outcomes of each person: quality of life and choice/control, from what actually happened.

Quality of life combines need met, how well the support fits the person's preferences and how
much control they have, minus the burden of running a direct payment without help and the
disruption when a provider
fails.  Choice and control as felt = control x autonomy - 2 x burden x (1 - autonomy), plus a
little for the variety of support used: people who do not want to manage their own care feel
its burden more than its control.  Nobody's outcome is set directly: a person is better or
worse off after a move to a personal budget because these ingredients changed.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .state import DP, GONE, MPB, SELF, TRAD


def _situation_tables(b):
    """Control for each (route, planned) and admin burden for each (route, helped, planned).

    A managed PB without support planning is a change of paperwork, not of control: its
    holders keep the traditional control score.  ``helped`` means a family carer or a broker
    shares the work of a direct payment; without support planning the burden is
    ``unplanned_burden_mult`` times larger.
    """
    control = np.zeros((GONE + 1, 2))
    control[TRAD] = b.control_traditional
    control[MPB] = (b.control_traditional, b.control_managed)
    control[DP] = b.control_dp
    control[SELF] = b.control_dp
    route, helped, planned = np.meshgrid(np.arange(GONE + 1), [0, 1], [0, 1], indexing="ij")
    burden = np.where(route == DP, b.dp_admin_burden * np.where(helped, 0.3, 1.0), 0.0)
    burden = burden * np.where(planned, 1.0, b.unplanned_burden_mult)
    return control.ravel(), burden.ravel()


def update_outcomes(model):
    """Phase: outcomes for every community user (residents keep theirs), in one fused pass
    that also leaves the per-council sums the weekly record needs in ``model.user_sums``."""
    cfg, u, t = model.cfg, model.users, model.steps_done
    b = cfg.behaviour
    control_tab, burden_tab = _situation_tables(b)
    sums, queue = kernels.outcomes(
        u.delivered, u.fit, u.need, u.route, u.council, u.carer, u.brokered, u.planned,
        u.autonomy, u.disrupted_until, u.in_queue, u.planning_until, t, b.w_met, b.w_fit,
        b.w_control, b.disruption_penalty, control_tab, burden_tab, u.met, u.qol, u.choice,
        model.council.n)
    model.user_sums = dict(zip(("count", "need", "unmet", "qol", "choice"), sums, strict=True))
    model.queue_counts = queue
