"""Councils offer, people choose: the RAS, offers, the planning queue, conversions, reviews,
and how a person's support mix is composed.

Nothing here is a schedule or a coin flip.  Councils offer personal budgets at assessments and
reviews (and, when behind their target, approach people between reviews); each person offered
weighs what a direct payment, a managed PB and their traditional package would mean to them
(control they want, the administrative burden given their capability and the help they have,
inertia) and chooses, with a random taste of their own (a logit choice on common random
numbers).  Those who accept queue for a support planner; planners' hours pace the plans; a
council behind its target rushes plans and converts people still waiting without one, in
proportion to its pressure.  At reviews, PB holders weigh their experience and may move back.

Budgets come from the RAS: assessed need scored in points, priced at the council's £ per point
(set so the RAS would allocate to its caseload what it spends on them now).  The saving of a
personal budget is not a parameter: it appears when a plan reveals options (personal
assistants, community activities, paid family) that fit and cost less than agency care, with
diminishing returns to each; without planning, people re-buy their old package at spot prices.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtri

from . import crn, passes
from .accounting import return_balances
from .codes import DP, MPB, RES, TRAD, holds_pb
from .population import leave_funding
from .state import small_keys
from .support import compose_mix, traditional_cost
from .week import Column, Phase, Week, rate


def ras_points(cfg, assessed, pc_share) -> np.ndarray:
    """Resource Allocation System points for assessed need (hours/week): a point per hour of
    personal care, ``policy.ras_social_weight`` per hour of other support, and, if
    ``policy.ras_prices_intensive_care``, points for the extra staff time of intensive
    personal care (a points-based RAS usually did not see it)."""
    pol, m = cfg.policy, cfg.market
    h_pc = assessed * pc_share
    extra = (m.agency_intensive_factor - 1.0) * np.maximum(h_pc - m.intensive_threshold, 0.0) \
        if pol.ras_prices_intensive_care else 0.0
    return h_pc + extra + pol.ras_social_weight * (assessed - h_pc)


def price_per_point(model) -> np.ndarray:
    """£ per RAS point per council: what the council spends on its council-funded community
    users' assessed need at block prices, divided by their points, times
    ``policy.ras_affordability`` (set once at the start; fee uplifts scale it)."""
    u, C = model.users, model.council
    rows = np.flatnonzero(u.active & ((u.route == TRAD) | holds_pb(u.route)))
    cost = np.bincount(u.council[rows], traditional_cost(model, rows, u.assessed[rows]), C.n)
    pts = np.bincount(u.council[rows], ras_points(model.cfg, u.assessed[rows], u.pc_share[rows]),
                      C.n)
    return model.cfg.policy.ras_affordability * np.divide(cost, pts, out=np.ones(C.n),
                                                          where=pts > 0)


def assess(model, rows, t):
    """An assessment: need recorded, and the RAS questionnaire's error for it drawn (lognormal,
    mean 1, a common random number)."""
    u, sd = model.users, model.cfg.policy.ras_noise_sd
    u.assessed[rows] = u.need[rows]
    z = ndtri(crn.uniform(model.cfg.seed, "ras", u.uid[rows], t))
    u.ras_error[rows] = np.exp(sd * z - sd**2 / 2)


def ras_budget(model, rows) -> np.ndarray:
    """£/week personal budget: the assessed need's RAS points at the council's price per point,
    with the questionnaire's error."""
    u = model.users
    return (ras_points(model.cfg, u.assessed[rows], u.pc_share[rows])
            * model.council.price_per_point[u.council[rows]] * u.ras_error[rows])


def budget_and_plan(model, rows):
    """Budgets set and support composed for ``rows`` (anyone; PB holders get a budget): the
    RAS's indicative budget, the mix the person plans within it, then the plan's sign-off.

    At sign-off a council funds a support plan that costs more than the indicative budget, up
    to ``policy.signoff_margin`` of that budget times the plan's quality (a full plan argues
    its case; a rushed one less; without a plan there is nothing to sign off and the RAS
    figure stands).  The mix cut to the indicative budget is restored in proportion."""
    u = model.users
    pb = rows[holds_pb(u.route[rows])]
    u.budget[pb] = ras_budget(model, pb)
    compose_mix(model, rows)
    margin = model.cfg.policy.signoff_margin
    if margin <= 0.0 or pb.size == 0:
        return
    old, want = u.budget[pb], u.c_wanted[pb]
    new = np.minimum(want, old * (1.0 + margin * u.plan_quality[pb]))
    up = new > old
    r = pb[up]
    u.mix[:, r] *= new[up] / old[up]
    u.c_bought[r] = new[up]
    u.budget[r] = new[up]


# ---------------------------------------------------------------- people's choices

def choose(model, rows, t, pressure, allow_trad=True) -> np.ndarray:
    """Offered a PB, each person picks a direct payment, a managed PB or (if ``allow_trad``)
    keeps their traditional package: the highest of each option's expected value plus a
    Gumbel taste (scale ``behaviour.choice_scale``; common random numbers keyed by person and
    week).  A route's expected value, relative to a traditional package, is the control the
    person wants (the route's decision rights over a traditional package's, times their
    autonomy) minus the administrative burden they would bear (given their capability, a
    carer's spare hours and brokerage), each weighted as in quality of life: the same terms
    make up their quality of life once they hold it (``outcomes``).  Changing costs
    ``behaviour.status_quo``; a council under ``pressure`` (0-1) sells harder
    (``policy.persuasion``).  They expect a full plan and brokerage if the council has
    brokers free (``kernels.offer_choice``).  Returns the chosen route codes."""
    cfg, u, C = model.cfg, model.users, model.council
    b, seed = cfg.behaviour, cfg.seed
    c = u.council[rows]
    uid = u.uid[rows]
    g_trad = crn.gumbel(seed, "accept_trad", uid, t) if allow_trad else np.zeros(rows.size)
    return passes.offer_choice(
        rows=rows, users=u, carers=model.carers, expect_broker=C.broker_free[c] > 0,
        push=cfg.policy.persuasion * pressure[c] - b.status_quo,
        g_dp=crn.gumbel(seed, "accept_dp", uid, t), g_mpb=crn.gumbel(seed, "accept_mpb", uid, t),
        g_trad=g_trad, allow_trad=allow_trad, behaviour=b, market=cfg.market)


def offer(model, week: Week, rows, pressure) -> np.ndarray:
    """Offer a PB to ``rows`` (traditional packages, not queued); those who accept join the
    planning queue with the route they chose.  Returns the rows that accepted."""
    u, t = model.users, week.t
    if rows.size == 0:
        return rows
    route = choose(model, rows, t, pressure)
    yes = route != TRAD
    acc = rows[yes]
    u.in_queue[acc] = True
    u.queue_since[acc] = t
    u.wants_route[acc] = route[yes]
    n_c = model.council.n
    week.offers += np.bincount(u.council[rows], minlength=n_c)
    week.acceptances += np.bincount(u.council[acc], minlength=n_c)
    return acc


# ---------------------------------------------------------------- the rollout

def council_pressure(model, week: Week, share) -> np.ndarray:
    """How hard each council pushes this week (0-1): how far its PB share is behind the
    target's path, as a share of the target, times the push from above
    (``policy.target_enforcement``) and the council's own commitment.  Zero before the policy
    starts and without a rollout."""
    C, t = model.council, model.policy_week(week.t)
    if not model.cfg.policy.rollout or t < 1:
        return np.zeros(C.n)
    target = C.target_share(t)
    gap = np.clip((target - share) / np.maximum(target, 1e-9), 0.0, 1.0)
    return np.clip(gap * model.cfg.policy.target_enforcement * C.commitment, 0.0, 1.0)


def rollout(model, week: Week):
    """Councils' week of the rollout: finished plans become PBs; a council behind its target
    approaches people between reviews; plans start within planners' capacity (rushed under
    pressure); people still waiting are converted without a plan under pressure."""
    cfg, u, C, t = model.cfg, model.users, model.council, week.t
    pol, cc, n_c = cfg.policy, cfg.council, C.n
    by_route, week.broker_used, queued = passes.rollout_scan(users=u, n_councils=n_c)
    C.broker_free = np.floor(C.broker_capacity) - week.broker_used
    n_pb = by_route[:, DP] + by_route[:, MPB]
    n_funded = by_route[:, TRAD] + n_pb
    p = C.pressure = council_pressure(model, week, rate(n_pb, n_funded, empty=0.0))

    # Finished plans become PBs of the route chosen.
    until = u.planning_until[queued]
    finished = (until <= t) & (until >= 0)
    done = queued[finished]
    convert(model, week, done, u.wants_route[done], u.plan_quality[done])
    queued = queued[~finished]

    # A council behind its target approaches traditional-package holders between reviews.
    n_free = np.maximum(by_route[:, TRAD] - np.bincount(u.council[queued], minlength=n_c), 0)
    k = model.rng.binomial(n_free, np.clip(pol.campaign_rate * p, 0.0, 1.0))
    joining = offer(model, week, _sample_traditional(model, k), p)
    act_q = np.sort(np.concatenate([queued, joining]), kind="stable")   # disjoint sets

    # Plans start within planners' capacity, first come first served; under pressure a plan
    # gets fewer planner hours (rush) and is done sooner.
    planning = u.planning_until[act_q] >= 0
    busy = np.bincount(u.council[act_q[planning]], minlength=n_c)
    free_slots = np.maximum(np.floor(C.max_in_planning) - busy, 0).astype(int)
    waiting = act_q[~planning]
    order = waiting[np.argsort(small_keys(u.queue_since[waiting], t + 1), kind="stable")]
    starting = _take_per_group(None, order, u.council[order], free_slots)
    rush = np.clip(pol.rush_max * p, 0.0, 0.95)[u.council[starting]]
    u.plan_quality[starting] = 1.0 - rush
    u.planning_until[starting] = t + np.maximum(
        np.round(cc.planning_duration_weeks * (1.0 - rush)), 1).astype(np.int32)
    plans_started = np.bincount(u.council[starting], minlength=n_c)

    # Under pressure, a share of those still waiting for a planner is converted without a plan.
    started = np.zeros(u.size, dtype=bool)
    started[starting] = True
    still = waiting[~started[waiting]]
    pick = model.rng.random(still.size) < np.clip(pol.unplanned_rate * p, 0.0, 1.0)[u.council[still]]
    forced = still[pick]
    convert(model, week, forced, u.wants_route[forced], np.zeros(forced.size))

    in_planning = busy + plans_started
    n_forced = np.bincount(u.council[forced], minlength=n_c)
    quality = np.bincount(u.council[starting], u.plan_quality[starting], n_c)
    week.put("target_share", C.target_share(model.policy_week(t)) if pol.rollout
             else np.full(n_c, np.nan))
    week.put("pressure", p.copy())
    week.put("queue_length", np.bincount(u.council[still[~pick]], minlength=n_c))
    week.put("in_planning", in_planning)
    week.put("plans_started", plans_started)
    week.put("plan_quality_started", rate(quality, plans_started))
    week.put("conversions_planned", np.bincount(u.council[done], minlength=n_c))
    week.put("conversions_unplanned", n_forced)
    week.put("planning_wait_weeks", rate(C.conv_wait_sum, C.conversions))


def _sample_traditional(model, k, rounds=6):
    """k[c] random traditional users not yet queued, from each council c.

    Draws candidate rows uniformly from the whole table and keeps the eligible ones, a few
    times the number needed per round (the national quota is a few thousand a week, the
    candidates ~600,000, so scanning and sorting all of them would cost more than the rest of
    the phase); councils still short after a few rounds are filled from a full scan."""
    u, rng = model.users, model.rng
    need = k.astype(np.int64).copy()
    chosen = []
    for rnd in range(rounds):
        total = int(need.sum())
        if total == 0:
            break
        draw = np.unique(rng.integers(0, u.size, (3 * total + 16) << rnd))
        draw = draw[rng.permutation(draw.size)]
        ok = draw[(u.route[draw] == TRAD) & ~u.in_queue[draw]]
        if chosen:
            ok = ok[~np.isin(ok, np.concatenate(chosen))]
        take = _first_k(ok, u.council[ok], need)
        chosen.append(take)
        need -= np.bincount(u.council[take], minlength=need.size)
    if need.sum() > 0:
        short = need > 0
        cand = np.flatnonzero((u.route == TRAD) & ~u.in_queue)
        cand = cand[short[u.council[cand]]]
        if chosen:
            cand = cand[~np.isin(cand, np.concatenate(chosen))]
        chosen.append(_take_per_group(rng, cand, u.council[cand], need))
    return np.concatenate(chosen) if chosen else np.empty(0, np.int64)


def _take_per_group(rng, rows, group, k):
    """k[g] rows of each group g: the first ones, or a random sample when ``rng`` is given.

    Random sampling draws only k[g] positions per group (not a permutation of all rows),
    because at national scale the candidates are ~600,000 and the sample a few thousand."""
    if rows.size == 0 or k.sum() == 0:
        return rows[:0]
    if rng is None:
        return _first_k(rows, group, k)
    order = np.argsort(small_keys(group, k.size), kind="stable")
    rows, group = rows[order], group[order]
    start = np.searchsorted(group, np.arange(k.size))
    count = np.bincount(group, minlength=k.size)
    picks = [start[g] + rng.choice(count[g], size=min(k[g], count[g]), replace=False)
             for g in np.flatnonzero((k > 0) & (count > 0))]
    return rows[np.sort(np.concatenate(picks))] if picks else rows[:0]


def _first_k(rows, group, k):
    order = np.argsort(small_keys(group, k.size), kind="stable")
    rows, group = rows[order], group[order]
    start = np.searchsorted(group, np.arange(k.size))
    rank = np.arange(rows.size) - start[group]
    return rows[rank < k[group]]


def convert(model, week: Week, rows, route, plan_quality):
    """Move users from traditional support to a personal budget of ``route`` (codes) after a
    plan of quality ``plan_quality`` (0: none)."""
    if rows.size == 0:
        return
    u, t, C = model.users, week.t, model.council
    assess(model, rows, t)
    u.trad_cost_at_conv[rows] = traditional_cost(model, rows)
    wait, n, wait_planned, n_planned = passes.convert_rows(
        rows=rows, route=route, plan_quality=plan_quality, t=t, users=u, n_councils=C.n)
    C.conv_wait_sum[:] += wait
    C.conversions[:] += n
    C.conv_wait_sum_planned[:] += wait_planned
    C.conversions_planned[:] += n_planned
    _broker(model, week, rows)
    budget_and_plan(model, rows)


def _broker(model, week: Week, rows):
    """Brokerage/advocacy is capacity-limited: the first PB holders to ask get it."""
    u, C = model.users, model.council
    # Brokered people per council: counted by the rollout phase's scan and kept up to date
    # here; counted afresh if not counted yet this week.
    used = week.broker_used
    if used is None:
        used = passes.count_flag(council=u.council, route=u.route, flag=u.brokered, n_councils=C.n)
    free = np.maximum(np.floor(C.broker_capacity) - used, 0).astype(int)
    got = _first_k(rows, u.council[rows], free)
    u.brokered[got] = True
    week.broker_used = used + np.bincount(u.council[got], minlength=C.n)


def review(model, week: Week):
    """Annual reviews: need re-assessed against the council's eligibility band (those below
    it lose council funding), budgets reset, support re-composed; traditional-package holders
    offered a PB (during the rollout as far as the council is committed, otherwise on request:
    ``policy.offer_base``); PB holders weigh their experience and may move back."""
    cfg, u, C, t = model.cfg, model.users, model.council, week.t
    n_c = C.n
    cutoff = t - cfg.council.review_interval_weeks
    rows = passes.due_for_review(users=u, cutoff=cutoff)
    rows = rows[u.route[rows] < RES]
    u.review_step[rows] = t
    # Eligibility: funded people below the council's band leave council funding.
    funded = rows[(u.route[rows] == TRAD) | holds_pb(u.route[rows])]
    lost = funded[u.need[funded] < C.threshold[u.council[funded]]]
    week.put("lost_eligibility", np.bincount(u.council[lost], minlength=n_c))
    if lost.size:
        leave_funding(model, week, lost)
        rows = rows[~np.isin(rows, lost)]
    # PB holders reconsider, then everyone reviewed is re-assessed.
    pb = rows[holds_pb(u.route[rows])]
    moved = reconsider(model, week, pb)
    week.put("moves_back", np.bincount(u.council[moved], minlength=n_c))
    assess(model, rows, t)
    budget_and_plan(model, rows)
    # Offers to traditional-package holders reviewed (or newly assessed) and not queued.
    trad = rows[(u.route[rows] == TRAD) & ~u.in_queue[rows]]
    pol = cfg.policy
    if pol.rollout and model.policy_week(t) >= 1:
        # A council offers at reviews as far as it is committed to the rollout.
        p_offer = pol.offer_base + (pol.offer_rollout - pol.offer_base) * np.minimum(
            C.commitment, 1.0)
    else:
        p_offer = np.full(n_c, pol.offer_base)
    offered = trad[crn.uniform(cfg.seed, "offer", u.uid[trad], t) < p_offer[u.council[trad]]]
    offer(model, week, offered, C.pressure)
    week.put("offers", week.offers.copy())
    week.put("acceptances", week.acceptances.copy())


def reconsider(model, week: Week, rows) -> np.ndarray:
    """At a review, PB holders weigh what they live with (control, the burden they bear given
    the PAs they employ and the plan they had, need left unmet) against the alternatives: a
    managed PB (for a direct-payment holder) or a traditional package; staying costs nothing,
    moving costs ``behaviour.status_quo``.  Returns the rows that moved back."""
    cfg, u, t = model.cfg, model.users, week.t
    if rows.size == 0:
        return rows
    b, seed, uid = cfg.behaviour, cfg.seed, u.uid[rows]
    to = passes.reconsider_choice(
        rows=rows, users=u, carers=model.carers, g_now=crn.gumbel(seed, "reconsider_now", uid, t),
        g_mpb=crn.gumbel(seed, "reconsider_mpb", uid, t),
        g_trad=crn.gumbel(seed, "reconsider_trad", uid, t), behaviour=b, market=cfg.market)
    to_trad, to_mpb = to == TRAD, to == MPB
    return_balances(model, week.ledger, rows[to_trad | to_mpb])
    back = rows[to_trad]
    u.route[back] = TRAD
    u.budget[back] = 0.0
    u.plan_quality[back] = 0.0
    u.route[rows[to_mpb]] = MPB
    return rows[to_trad | to_mpb]


def reassess(model, rows, t):
    """Re-assess need now (an emergency review, e.g. when a carer stops): budgets reset and
    support re-composed."""
    u = model.users
    rows = rows[u.route[rows] < RES]
    if rows.size == 0:
        return
    u.review_step[rows] = t
    assess(model, rows, t)
    budget_and_plan(model, rows)


ROLLOUT = Phase(
    "rollout", rollout,
    reads="routes, the conversion queue, council targets, pressure and planning capacity",
    writes="queue and planning state; campaign offers and choices; conversions to a PB "
           "(route, plan quality, budget, mix, brokerage)",
    columns=(
        Column("target_share", "share (0-1)", "the council's PB target for this week (none "
               "without a rollout)", scale=False),
        Column("pressure", "index (0-1)", "how hard the council pushes: its shortfall against "
               "the target's path x its commitment", scale=False),
        Column("queue_length", "people", "accepted a PB, waiting for a planner"),
        Column("in_planning", "people", "accepted a PB, with a plan under way"),
        Column("plans_started", "people", "support plans started this week"),
        Column("plan_quality_started", "share (0-1)", "planner time given to plans started this "
               "week, as a share of a full plan (below 1: rushed)", scale=False),
        Column("conversions_planned", "people", "moved to a PB after support planning"),
        Column("conversions_unplanned", "people", "moved to a PB without a plan (pressure)"),
        Column("planning_wait_weeks", "weeks", "mean wait from accepting to a PB, run so far",
               scale=False),
    ))
REVIEW = Phase(
    "review", review,
    reads="people's last review week, need, route, experience; council band, pressure",
    writes="assessed need, RAS error, budgets and mixes of those reviewed; people below the "
           "band leave council funding; offers and choices; moves back",
    columns=(
        Column("lost_eligibility", "people", "reviewed people below the council's band, no "
               "longer council-funded"),
        Column("moves_back", "people", "PB holders who moved back (to a managed PB or a "
               "traditional package)"),
        Column("offers", "people", "PB offers made this week (reviews, assessments, approaches)"),
        Column("acceptances", "people", "offers accepted"),
    ))
