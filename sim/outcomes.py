"""Outcomes of each person: quality of life and choice/control, from what actually happened.

Quality of life combines need met, how well the support fits the person's preferences and how
much control they have, minus the burden of running a direct payment without help and the
disruption when a provider fails.  Nobody's outcome is set directly: a person is better or
worse off after a move to a personal budget because these ingredients changed.
"""

from __future__ import annotations

import numpy as np

from .state import DP, GONE, MPB, RES, SELF, TRAD


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
    """Phase: outcomes for every community user (whole columns; residents keep theirs)."""
    cfg, u, t = model.cfg, model.users, model.steps_done
    b = cfg.behaviour
    d, f = u.delivered, u.fit
    hours = np.einsum("ij->j", d)
    model.hours_delivered = hours
    need = u.need
    met = np.minimum(hours, need)
    met /= np.maximum(need, 1e-9)
    fitted = np.einsum("ij,ij->j", d, f)
    fitted /= np.maximum(hours, 1e-9)
    community = u.route < RES
    idle = np.flatnonzero((hours <= 0) & community)
    fitted[idle] = f[:, idle].mean(axis=0)          # no support: fit of what they'd like
    met[idle[need[idle] <= 0]] = 1.0                # no need, nothing unmet
    qol_tab, choice_tab = _situation_tables(b)
    code = u.route * 4 + ((u.carer >= 0) | u.brokered) * 2 + u.planned
    qol = b.w_met * met
    qol += b.w_fit * fitted
    qol += qol_tab.take(code)
    qol -= b.disruption_penalty * (u.disrupted_until > t)
    used = (d > 0.5).sum(axis=0, dtype=np.int8)
    choice = choice_tab.take(code)
    choice += 0.2 / 3 * np.clip(used - 1, 0, 3)
    np.copyto(u.met, met, where=community)
    np.copyto(u.qol, np.clip(qol, 0.0, 1.0), where=community)
    np.copyto(u.choice, np.clip(choice, 0.0, 1.0), where=community)
