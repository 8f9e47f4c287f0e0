"""Outcomes of each person: quality of life and choice/control, from what actually happened.

Quality of life combines need met, how well the support fits the person's preferences and how
much control they have, minus the burden of running a direct payment without help and the
disruption when a provider fails.  Nobody's outcome is set directly: a person is better or
worse off after a move to a personal budget because these ingredients changed.
"""

from __future__ import annotations

import numpy as np

from .state import DP, MPB, RES, SELF, TRAD


def update_outcomes(model):
    cfg, u, t = model.cfg, model.users, model.steps_done
    b = cfg.behaviour
    act = np.flatnonzero(u.active & (u.route != RES))
    delivered = u.delivered[act]
    fitv = u.fit[act]
    hours = delivered.sum(axis=1)
    need = u.need[act]
    met = np.where(need > 0, np.minimum(hours / np.maximum(need, 1e-9), 1.0), 1.0)
    fit = np.where(hours > 0, np.einsum("ij,ij->i", delivered, fitv) / np.maximum(hours, 1e-9),
                   fitv.mean(axis=1))
    route = u.route[act]
    table = np.zeros(5)
    table[[TRAD, MPB, DP, SELF]] = (b.control_traditional, b.control_managed, b.control_dp,
                                    b.control_dp)
    control = table[route]
    has_carer = u.carer[act] >= 0
    helped = has_carer | u.brokered[act]
    burden = np.where(route == DP, b.dp_admin_burden * np.where(helped, 0.3, 1.0), 0.0)
    burden *= np.where(u.planned[act], 1.0, b.unplanned_burden_mult)
    disrupted = u.disrupted_until[act] > t
    qol = b.w_met * met + b.w_fit * fit + b.w_control * control - burden \
        - b.disruption_penalty * disrupted
    used = (delivered > 0.5).sum(axis=1)
    diversity = np.clip((used - 1) / 3.0, 0.0, 1.0)
    choice = 0.8 * control * (1 - np.minimum(burden * 2, 1.0)) + 0.2 * diversity
    u.met[act] = met
    u.qol[act] = np.clip(qol, 0.0, 1.0)
    u.choice[act] = np.clip(choice, 0.0, 1.0)
