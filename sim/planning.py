"""Councils' side of self-directed support: RAS, the rollout, the planning queue, and how a
person's support mix is composed.

The saving of a personal budget is not a parameter: it appears when support planning reveals
options (personal assistants, community activities, paid family) that fit the person and cost
less than agency care, and the person stops buying once their need is covered.  Without
planning, people re-buy their old package at spot prices, which cost more than the block
prices their budget was set from.
"""

from __future__ import annotations

import numpy as np

from . import passes
from .codes import AGENCY, DAY, DP, MPB, N_OPTIONS, RES, TRAD, holds_pb
from .providers import assign_main_provider
from .week import Column, Phase, Week, rate


def traditional_mix(model, rows, hours=None) -> np.ndarray:
    """A traditional package: personal care from an agency, the rest from a day service."""
    u = model.users
    h = u.need[rows] if hours is None else hours
    mix = np.zeros((rows.size, N_OPTIONS))
    mix[:, AGENCY] = h * u.pc_share[rows]
    mix[:, DAY] = h * (1 - u.pc_share[rows])
    return mix


def traditional_cost(model, rows, hours=None, agency_factor=None) -> np.ndarray:
    """£/week the council would pay for this need under block contracts (the RAS reference)."""
    u, m = model.users, model.cfg.market
    h = u.need[rows] if hours is None else hours
    factor = m.agency_intensive_factor if agency_factor is None else agency_factor
    return passes.traditional_cost(hours=h, pc_share=u.pc_share[rows], council=u.council[rows],
                                   block_price=model.council.block_price, agency_factor=factor,
                                   market=m)


def ras_budget(model, rows) -> np.ndarray:
    """Resource Allocation System: budget from assessed need, priced at the council's rates.

    A points-based RAS prices each assessed hour alike, so it does not see the extra staff
    time intensive agency care takes (``policy.ras_prices_intensive_care`` false, a policy
    lever): the budgets of the most expensive traditional packages then fall short of their
    cost, and their holders must find cheaper support (a live-in PA, family, community) or go
    short.  By default the RAS prices the full traditional cost."""
    pol, m = model.cfg.policy, model.cfg.market
    factor = m.agency_intensive_factor if pol.ras_prices_intensive_care else 1.0
    return pol.ras_generosity * traditional_cost(model, rows, model.users.assessed[rows],
                                                 agency_factor=factor)


def compose_mix(model, rows):
    """Set each user's mix of care hours by route (one fused pass, ``kernels.compose_mix``).

    * Traditional packages and self-funders: the assessed need as agency (personal care) and
      day care (the rest).
    * A person with a personal budget who chooses their own support (planned, or one of the
      fixed share who do not simply re-buy their old package: a trait drawn once, so a review
      does not flip them between behaviours) fills personal care from agency, a personal
      assistant or paid family, and the rest from day care, a PA, community activities or
      paid family, best-scoring options first (fit minus price sensitivity times price
      relative to agency), each up to its cap, until the need is covered.  Options must fit
      (``behaviour.fit_threshold``); agency and day care are always the fallback.  Community
      options are found only through planning or brokerage.  A PA is employed by the person,
      which takes a direct payment (unless ``policy.pa_needs_direct_payment`` is off, as
      individual service funds later allowed).  Paid family hours are the carer's spare
      hours under the council's payment rule.
    * Prices are spot prices, except that a managed PB buys agency and day care through the
      council's contracts (block rates); paid family at the family rate.
    * A PB mix costing more than the budget (in billable units: intensive hours take more
      staff) is scaled down to the budget.
    """
    if rows.size == 0:
        return
    passes.compose_mix(rows=rows, users=model.users, carers=model.carers,
                       spot_price=model.spot_price_ct, block_price=model.council.block_price,
                       cfg=model.cfg)
    assign_main_provider(model, rows)


def rollout(model, week: Week):
    """Queue users for conversion to meet the target; start plans within capacity; convert
    finished plans; convert the shortfall unplanned as far as the target is enforced."""
    cfg, u, C, t = model.cfg, model.users, model.council, week.t
    n_c = C.n
    by_route, week.broker_used, queued = passes.rollout_scan(users=u, n_councils=n_c)
    n_pb = by_route[:, DP] + by_route[:, MPB]
    n_funded = by_route[:, TRAD] + n_pb
    target = C.target_share(t)
    want = np.ceil(target * n_funded).astype(int) - n_pb

    # Finished plans become planned PBs.
    until = u.planning_until[queued]
    finished = (until <= t) & (until >= 0)
    done = queued[finished]
    convert(model, week, done, planned=True)

    # Queue enough traditional users to cover what the target still wants.
    queued = queued[~finished]
    pending = np.bincount(u.council[queued], minlength=n_c)
    add = np.maximum(want - pending - np.bincount(u.council[done], minlength=n_c), 0)
    joining = _sample_traditional(model, add)
    u.in_queue[joining] = True
    u.queue_since[joining] = t

    # Start plans within planning staff capacity (FIFO).
    act_q = np.union1d(queued, joining)
    planning = u.planning_until[act_q] >= 0
    busy = np.bincount(u.council[act_q[planning]], minlength=n_c)
    free_slots = np.maximum(np.floor(C.max_in_planning) - busy, 0).astype(int)
    waiting = act_q[~planning]
    order = waiting[np.argsort(u.queue_since[waiting], kind="stable")]
    starting = _take_per_group(None, order, u.council[order], free_slots)
    u.planning_until[starting] = t + cfg.council.planning_duration_weeks
    plans_started = np.bincount(u.council[starting], minlength=n_c)

    # A missed target is met by converting people without planning.
    in_planning = busy + np.bincount(u.council[starting], minlength=n_c)
    shortfall = np.maximum(want - np.bincount(u.council[done], minlength=n_c) - in_planning, 0)
    forced_n = np.floor(shortfall * C.enforcement).astype(int)
    still = act_q[u.planning_until[act_q] < 0]
    still = still[~np.isin(still, starting)]
    order = still[np.argsort(u.queue_since[still], kind="stable")]
    forced = _take_per_group(None, order, u.council[order], forced_n)
    convert(model, week, forced, planned=False)
    # Still queued at the end of the week: waiting for a planner, or in planning.
    n_forced = np.bincount(u.council[forced], minlength=n_c)
    week.put("target_share", target)
    week.put("queue_length", np.bincount(u.council[act_q], minlength=n_c) - in_planning - n_forced)
    week.put("in_planning", in_planning)
    week.put("plans_started", plans_started)
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
    order = np.argsort(group.astype(np.int16 if k.size < 2**15 else np.int32), kind="stable")
    rows, group = rows[order], group[order]
    start = np.searchsorted(group, np.arange(k.size))
    count = np.bincount(group, minlength=k.size)
    picks = [start[g] + rng.choice(count[g], size=min(k[g], count[g]), replace=False)
             for g in np.flatnonzero((k > 0) & (count > 0))]
    return rows[np.sort(np.concatenate(picks))] if picks else rows[:0]


def _first_k(rows, group, k):
    # int16 keys make numpy's stable sort a radix sort: ~8x faster than int32 at 1M rows.
    order = np.argsort(group.astype(np.int16 if k.size < 2**15 else np.int32), kind="stable")
    rows, group = rows[order], group[order]
    start = np.searchsorted(group, np.arange(k.size))
    rank = np.arange(rows.size) - start[group]
    return rows[rank < k[group]]


def convert(model, week: Week, rows, planned: bool):
    """Move users from traditional support to a personal budget."""
    if rows.size == 0:
        return
    u, cfg, t = model.users, model.cfg, week.t
    u.qol_before[rows] = u.qol[rows]
    u.choice_before[rows] = u.choice[rows]
    u.assessed[rows] = u.need[rows]
    u.trad_cost_at_conv[rows] = traditional_cost(model, rows)
    dp = model.rng.random(rows.size) < cfg.policy.dp_share
    u.route[rows] = np.where(dp, DP, MPB)
    u.planned[rows] = planned
    u.in_queue[rows] = False
    u.planning_until[rows] = -1
    u.converted_step[rows] = t
    u.review_step[rows] = t
    u.cum_pb_cost[rows] = 0.0
    u.cum_trad_equiv[rows] = 0.0
    model.council.conv_wait_sum[:] += np.bincount(
        u.council[rows], np.where(u.queue_since[rows] >= 0, t - u.queue_since[rows], 0),
        model.council.n)
    model.council.conversions[:] += np.bincount(u.council[rows], minlength=model.council.n)
    _broker(model, week, rows)
    u.budget[rows] = ras_budget(model, rows)
    compose_mix(model, rows)


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
    """Annual reviews re-assess need, reset budgets and re-compose support."""
    cutoff = week.t - model.cfg.council.review_interval_weeks
    reassess(model, passes.due_for_review(users=model.users, cutoff=cutoff))


def reassess(model, rows):
    """Re-assess need, reset PB holders' budgets and re-compose support (residents aside)."""
    u = model.users
    if rows.size == 0:
        return
    u.assessed[rows] = u.need[rows]
    u.review_step[rows] = model.steps
    pb = rows[holds_pb(u.route[rows])]
    u.budget[pb] = ras_budget(model, pb)
    compose_mix(model, rows[u.route[rows] != RES])


ROLLOUT = Phase(
    "rollout", rollout,
    reads="routes, the conversion queue, council targets and planning capacity",
    writes="queue and planning state; conversions to a PB (route, budget, mix, brokerage)",
    columns=(
        Column("target_share", "share (0-1)", "the council's PB target for this week", scale=False),
        Column("queue_length", "people", "queued for a PB, waiting for a planner"),
        Column("in_planning", "people", "queued for a PB, with a plan under way"),
        Column("plans_started", "people", "support plans started this week"),
        Column("conversions_planned", "people", "moved to a PB after support planning"),
        Column("conversions_unplanned", "people", "moved to a PB without a plan (target pressure)"),
        Column("planning_wait_weeks", "weeks", "mean wait from queueing to a PB, run so far", scale=False),
    ))
REVIEW = Phase("review", review, reads="people's last review week and need",
               writes="assessed need, PB budgets and mixes of those due a review")

