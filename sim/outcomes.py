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

from . import passes
from .codes import DP, GONE, MPB, N_ROUTES, RES, SELF, TRAD
from .week import Column, Phase, Week, rate

#: What the census sums per (council, route), in the order of the outcomes kernel's result.
CENSUS = ("count", "need", "unmet", "qol", "choice")


def _situation_tables(b):
    """Control for each (route, planned) and admin burden for each (route, helped, planned).

    A managed PB without support planning is a change of paperwork, not of control: its
    holders keep the traditional control score.  ``helped`` means a family carer or a broker
    shares the work of a direct payment (``helped_burden_share`` of it is left); without
    support planning the burden is ``unplanned_burden_mult`` times larger.
    """
    control = np.zeros((N_ROUTES, 2))
    control[TRAD] = b.control_traditional
    control[MPB] = (b.control_traditional, b.control_managed)
    control[DP] = b.control_dp
    control[SELF] = b.control_dp
    route, helped, planned = np.meshgrid(np.arange(N_ROUTES), [0, 1], [0, 1], indexing="ij")
    burden = np.where(route == DP, b.dp_admin_burden * np.where(helped, b.helped_burden_share, 1.0),
                      0.0)
    burden = burden * np.where(planned, 1.0, b.unplanned_burden_mult)
    return control.ravel(), burden.ravel()


def measure(model, t: int) -> dict[str, np.ndarray]:
    """Outcomes of every community user (residents keep theirs), in one fused pass that also
    sums people, need, unmet need, QoL and choice per (council, route) (``CENSUS``)."""
    control_tab, burden_tab = _situation_tables(model.cfg.behaviour)
    sums = passes.outcomes(users=model.users, t=t, behaviour=model.cfg.behaviour,
                           control_tab=control_tab, burden_tab=burden_tab,
                           n_councils=model.council.n)
    return dict(zip(CENSUS, sums, strict=True))


def update_outcomes(model, week: Week):
    """Outcomes of the week, and the head counts and outcome means of the time series."""
    S = week.census = measure(model, week.t)
    by_route = S["count"].astype(np.int64)

    def funded_sum(name):
        return S[name][:, :SELF].sum(axis=1)

    n_trad, n_pb = by_route[:, TRAD], by_route[:, DP] + by_route[:, MPB]
    n_funded = n_trad + n_pb
    unmet_hours, need_hours = funded_sum("unmet"), funded_sum("need")
    for name, values in (
            ("users", by_route[:, :GONE].sum(axis=1)), ("funded_community", n_funded),
            ("traditional", n_trad), ("direct_payment", by_route[:, DP]),
            ("managed_pb", by_route[:, MPB]), ("self_funders", by_route[:, SELF]),
            ("residential", by_route[:, RES]), ("pb_share", rate(n_pb, n_funded)),
            ("unmet_need_share", rate(unmet_hours, need_hours)),
            ("unmet_need_hours", unmet_hours),
            ("qol_mean", rate(funded_sum("qol"), n_funded)),
            ("choice_mean", rate(funded_sum("choice"), n_funded))):
        week.put(name, values)


_PEOPLE = "people"
OUTCOMES = Phase(
    "outcomes", update_outcomes,
    reads="hours delivered, fit, need, route, planning, help (carer, broker), autonomy, disruption",
    writes="each community user's need met, quality of life and choice/control; the week's "
           "census (people, need, unmet need, QoL, choice per council and route)",
    columns=(
        Column("users", _PEOPLE, "everyone in the model (all routes, self-funders included)"),
        Column("funded_community", _PEOPLE, "council-funded people at home (traditional + PB)"),
        Column("traditional", _PEOPLE, "on a traditional council-managed package"),
        Column("direct_payment", _PEOPLE, "holding a PB as a direct payment"),
        Column("managed_pb", _PEOPLE, "holding a council-managed PB"),
        Column("self_funders", _PEOPLE, "paying for their own care"),
        Column("residential", _PEOPLE, "council-funded care-home residents"),
        Column("pb_share", "share (0-1)", "PB holders / council-funded people at home", scale=False),
        Column("unmet_need_share", "share (0-1)", "unmet / eligible need, council-funded at home",
               scale=False),
        Column("unmet_need_hours", "hours/week", "unmet need, council-funded at home"),
        Column("qol_mean", "score (0-1)", "mean quality of life, council-funded at home", scale=False),
        Column("choice_mean", "score (0-1)", "mean choice/control, council-funded at home", scale=False),
    ))
