"""Outcomes of each person: quality of life and choice/control, from what actually happened.

Quality of life = w_met x need met + w_fit x how well the support received fits the person
+ w_control x control (the route's decision rights as far as the person wants them, the
traditional package's as far as they do not) - burden weight x administrative burden -
disruption when a provider fails.  The burden is structural (``kernels._burden``): the
hours of administration a route takes (more for employing personal assistants, more without
a plan) against the person's capacity to manage it (their capability, a carer's spare hours,
a broker).  Choice and control as felt = control x autonomy - burden aversion x burden x
(1 - autonomy), plus a little for the variety of support used.  Nobody's outcome is set by
route or group: people are better or worse off because these ingredients changed, and groups
differ because their capability, carers, needs and preferences do.
"""

from __future__ import annotations

import numpy as np

from . import passes
from .codes import DP, GONE, MPB, RES, RES_SELF, SELF, TRAD
from .week import Column, Phase, Week, rate

#: What the census sums per (council, route), in the order of the outcomes kernel's result.
CENSUS = ("count", "need", "unmet", "qol", "choice", "burden", "home_care", "day_care",
          "home_care_hours")


def measure(model, t: int, window: bool = False) -> dict[str, np.ndarray]:
    """Outcomes of every community user (residents keep theirs), in one fused pass that also
    sums people, need, unmet need, QoL, choice and burden per (council, route) (``CENSUS``);
    with ``window``, each person's outcomes are added to their effect-window sums."""
    sums = passes.outcomes(users=model.users, carers=model.carers, t=t,
                           behaviour=model.cfg.behaviour, market=model.cfg.market,
                           window=window, n_councils=model.council.n)
    return dict(zip(CENSUS, sums, strict=True))


def update_outcomes(model, week: Week):
    """Outcomes of the week, and the head counts and outcome means of the time series."""
    cfg = model.cfg
    window = model.policy_week(week.t) > cfg.steps - cfg.output.effect_window_weeks
    S = week.census = measure(model, week.t, window)
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
            ("residential", by_route[:, RES]),
            ("residential_self_funders", by_route[:, RES_SELF]),
            ("pb_share", rate(n_pb, n_funded)),
            ("unmet_need_share", rate(unmet_hours, need_hours)),
            ("unmet_need_hours", unmet_hours),
            ("qol_mean", rate(funded_sum("qol"), n_funded)),
            ("choice_mean", rate(funded_sum("choice"), n_funded)),
            ("burden_mean_dp", rate(S["burden"][:, DP], by_route[:, DP]))):
        week.put(name, values)
    # Council-arranged packages by service (the RAP and HH1 returns' home care and day care,
    # which leave out personal budgets).
    week.put("home_care_clients", S["home_care"][:, TRAD])
    week.put("day_care_clients", S["day_care"][:, TRAD])
    week.put("home_care_hours", S["home_care_hours"][:, TRAD])


_PEOPLE = "people"
OUTCOMES = Phase(
    "outcomes", update_outcomes,
    reads="hours delivered, fit, need, route, plan quality, capability, help (carer's spare "
          "hours, broker), autonomy, disruption",
    writes="each community user's need met, quality of life and choice/control; the week's "
           "census (people, need, unmet need, QoL, choice per council and route)",
    columns=(
        Column("users", _PEOPLE, "everyone in the model (all routes, self-funders included)"),
        Column("funded_community", _PEOPLE, "council-funded people at home (traditional + PB)"),
        Column("traditional", _PEOPLE, "on a traditional council-managed package"),
        Column("direct_payment", _PEOPLE, "holding a PB as a direct payment"),
        Column("managed_pb", _PEOPLE, "holding a council-managed PB"),
        Column("self_funders", _PEOPLE, "paying for their own care at home"),
        Column("residential", _PEOPLE, "council-funded care-home residents"),
        Column("residential_self_funders", _PEOPLE, "care-home residents paying their own fees "
               "(capital above the means test's upper limit)"),
        Column("pb_share", "share (0-1)", "PB holders / council-funded people at home", scale=False),
        Column("unmet_need_share", "share (0-1)", "unmet / eligible need, council-funded at home",
               scale=False),
        Column("unmet_need_hours", "hours/week", "unmet need, council-funded at home"),
        Column("qol_mean", "score (0-1)", "mean quality of life, council-funded at home", scale=False),
        Column("choice_mean", "score (0-1)", "mean choice/control, council-funded at home", scale=False),
        Column("burden_mean_dp", "index (0-1)", "mean administrative burden of direct-payment "
               "holders (load / (load + capacity to manage))", scale=False),
        Column("home_care_clients", _PEOPLE, "traditional packages holding home care (agency "
               "hours)"),
        Column("day_care_clients", _PEOPLE, "traditional packages holding day care"),
        Column("home_care_hours", "hours/week", "agency (home-care) hours delivered to "
               "traditional-package holders"),
    ))
