"""Fused per-row passes: the arithmetic of the weekly step, compiled with numba.

Why: at national scale (1.1 million user rows) the weekly step is memory-bound.  Each numpy
expression over a column allocates and streams a fresh 9 MB temporary, about 2-4 ms here, and
the per-user arithmetic of one week was ~150 such expressions.  These kernels do the same
arithmetic in one pass each, reading every column once.  They hold no model logic of their own
beyond what their docstrings say, and they work on whole columns of the tables in
``sim.state`` (unused rows have route GONE and are skipped).

This module is arithmetic only.  Nothing calls a kernel directly: each is called through
exactly one keyword-argument wrapper in ``sim.passes`` (which documents the arguments with
their types and units), and compiled ahead of time or just in time by ``sim.aot``.  Codes and
route sets come from ``sim.codes`` and are compile-time constants here.
"""

from __future__ import annotations

import numpy as np

from . import codes
from .codes import (
    AGENCY,
    BUY_COUNCIL_MPB,
    BUY_COUNCIL_TRAD,
    BUY_SPOT,
    COMMUNITY,
    DAY,
    DP,
    FAMILY,
    GONE,
    HOURS_PER_WEEK,
    MPB,
    N_BUYERS,
    N_MARKET_OPTIONS,
    N_OPTIONS,
    N_ROUTES,
    N_TYPES,
    PA,
    RES,
    RES_SELF,
    RESIDENTIAL,
    WEEKS_PER_YEAR,
)

#: The kernels as plain Python functions, by name, in definition order.
_PY: dict = {}


def kernel(fn, name: str | None = None):
    """Register a per-row pass (or, with a leading underscore, a helper the passes call); it is
    compiled ahead of time or by numba's JIT (``sim.aot``)."""
    _PY[name or fn.__name__] = fn
    return fn


# The route sets and the buyer side, as compiled helpers (one definition, in sim.codes).
_holds_pb = kernel(codes.holds_pb, "_holds_pb")
_buyer = kernel(codes.buyer, "_buyer")


@kernel
def _units(h, factor, threshold):
    """Billable units for ``h`` care hours: hours above the threshold cost ``factor`` each."""
    return h + (factor - 1.0) * max(h - threshold, 0.0)


# Common random numbers (``sim.crn``): splitmix64's finaliser on (uid, week, stream key).
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLD = np.uint64(0x9E3779B97F4A7C15)


@kernel
def _splitmix(x):
    """splitmix64's finaliser: a bijection of 64-bit integers with good avalanche."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


@kernel
def crn_uniform(uid, weeks, key):
    """One uniform in (0, 1) per ``uid``: the hash of (uid, week, stream ``key[0]``), with
    ``weeks`` one week for all (size 1) or one per uid; 53 random bits, never 0 or 1."""
    out = np.empty(uid.size)
    k = key[0]
    one = weeks.size == 1
    for i in range(uid.size):
        t = weeks[0] if one else weeks[i]
        x = np.uint64(uid[i]) * _GOLD + np.uint64(t) * _M1
        x = _splitmix(_splitmix(x) ^ k)
        out[i] = (np.float64(x >> np.uint64(11)) + 0.5) / 9007199254740992.0
    return out


@kernel
def staff_units(mix, ag_factor, pa_factor, threshold):
    """Billable units per market option for the care hours ``mix`` (options x people)."""
    out = np.empty((N_MARKET_OPTIONS, mix.shape[1]))
    for i in range(mix.shape[1]):
        for o in range(N_MARKET_OPTIONS):
            h = mix[o, i]
            if o == AGENCY:
                h = _units(h, ag_factor, threshold)
            elif o == PA:
                h = _units(h, pa_factor, threshold)
            out[o, i] = h
    return out


# The per-row passes below avoid data-dependent branches inside a row's arithmetic (a row's
# route, whether an option is used are in no particular order once rows are reused, so such a
# branch is mispredicted often): they compute and select or weight by 0/1.  Whole classes of
# rows that need nothing are skipped instead (empty rows, rows without a carer, residents in
# the market passes): skipping saves their memory traffic, which at national scale costs more
# than the branch (the family pass of England, 63% of its rows without a carer, fell from ~24
# to ~12 ms).  Unused rows (route GONE) keep stale values in some columns, so no result is
# ever read from them.


@kernel
def demand_and_transfers(mix, route, council, budget, dp_balance, main_provider, n_c, n_p,
                         ag_factor, pa_factor, threshold):
    """Market demand per (council, buyer (see ``_buyer``), option) in billable units;
    council-funded residents per council and per care home (self-funding residents are
    counted by ``market.charge_residents``, which reads them anyway); and the week's
    direct-payment transfers (added to balances, summed by council)."""
    demand = np.zeros((n_c, N_BUYERS, N_MARKET_OPTIONS))
    residents = np.zeros(n_c)
    occupied = np.zeros(n_p)
    transfers = np.zeros(n_c)
    for i in range(route.size):
        r = route[i]
        if r >= RES:        # residents (and empty rows) buy nothing at home
            if r == RES:
                residents[council[i]] += 1.0
                home = main_provider[i]
                if home >= 0:
                    occupied[home] += 1.0
            continue
        c = council[i]
        if r == DP:
            b = budget[i]
            dp_balance[i] += b
            transfers[c] += b
        k = _buyer(r)
        demand[c, k, 0] += _units(mix[0, i], ag_factor, threshold)
        demand[c, k, 1] += mix[1, i]
        demand[c, k, 2] += _units(mix[2, i], pa_factor, threshold)
        demand[c, k, 3] += mix[3, i]
    return demand, residents, occupied, transfers


@kernel
def deliver_and_pay(mix, route, council, fill, pay, delivered, spend, dp_balance, n_c,
                    ag_factor, pa_factor, threshold):
    """Hours delivered (mix x the fill ratio of the person's buyer side) and what each person
    pays (units x fill x price, per (council, buyer, option); traditional users pay nothing,
    their council does).  Direct-payment balances are debited; returns spend per (council,
    route)."""
    by_route = np.zeros((n_c, N_ROUTES))
    for i in range(route.size):
        r = route[i]
        if r >= RES:        # residents (and empty rows) buy nothing at home
            spend[i] = 0.0
            continue
        c = council[i]
        k = _buyer(r)
        for t in range(N_MARKET_OPTIONS):
            delivered[t, i] = mix[t, i] * fill[c, k, t]
        s = (_units(mix[0, i], ag_factor, threshold) * pay[c, k, 0] + mix[1, i] * pay[c, k, 1]
             + _units(mix[2, i], pa_factor, threshold) * pay[c, k, 2] + mix[3, i] * pay[c, k, 3])
        spend[i] = s
        by_route[c, r] += s
        if r == DP:
            dp_balance[i] -= s
    return by_route


@kernel
def _control(r, q, c_trad, c_managed, c_dp):
    """Decision rights over one's support, by route: a direct payment (or paying for one's own
    care) gives ``c_dp``; a managed PB gives more than a traditional package only as far as a
    support plan (quality ``q``) put the person's choices into it."""
    if r == DP or r == codes.SELF:
        return c_dp
    if r == MPB:
        return c_trad + (c_managed - c_trad) * q
    return c_trad


@kernel
def _burden(r, q, pa_used, capability, spare, brokered, admin_dp, admin_mpb, admin_per_pa,
            pa_hours, unplanned_mult, manage_hours, carer_help, broker_help):
    """Administrative burden (0-1) = load / (load + capacity to manage).  Load, hours/week: a
    direct payment's accounts and buying, plus employing personal assistants (``pa_used``
    hours/week, ``pa_hours`` each); a managed PB's agreeing of services; none otherwise; all
    ``unplanned_mult`` times heavier without a support plan (``q`` = 0).  Capacity: the
    person's own (``capability`` x ``manage_hours``), a family carer's help from their spare
    hours (at most ``carer_help``), a broker's (``broker_help``)."""
    load = 0.0
    if r == DP:
        load = admin_dp + admin_per_pa * pa_used / pa_hours
    elif r == MPB:
        load = admin_mpb
    load *= 1.0 + (unplanned_mult - 1.0) * (1.0 - q)
    cap = capability * manage_hours + min(max(spare, 0.0), carer_help) \
        + (broker_help if brokered else 0.0)
    return load / (load + cap) if load > 0.0 else 0.0


@kernel
def expected_burden(route, q, pa_used, capability, spare, brokered, admin_dp, admin_mpb,
                    admin_per_pa, pa_hours, unplanned_mult, manage_hours, carer_help,
                    broker_help):
    """``_burden`` for each person of a set, given the route they would take."""
    out = np.empty(route.size)
    for j in range(route.size):
        out[j] = _burden(route[j], q[j], pa_used[j], capability[j], spare[j], brokered[j],
                         admin_dp, admin_mpb, admin_per_pa, pa_hours, unplanned_mult,
                         manage_hours, carer_help, broker_help)
    return out


@kernel
def _route_value(r, q, pa_used, capability, spare, brokered, autonomy, c_trad, c_managed, c_dp,
                 w_control, burden_weight, admin_dp, admin_mpb, admin_per_pa, pa_hours,
                 unplanned_mult, manage_hours, carer_help, broker_help):
    """What a person expects of holding route ``r`` relative to a traditional package: the
    control they want (the route's decision rights over a traditional package's, times their
    autonomy) minus the administrative burden they would bear, each weighted as in quality of
    life (the same terms as ``outcomes``)."""
    rights = _control(r, q, c_trad, c_managed, c_dp)
    burden = _burden(r, q, pa_used, capability, spare, brokered, admin_dp, admin_mpb,
                     admin_per_pa, pa_hours, unplanned_mult, manage_hours, carer_help,
                     broker_help)
    return w_control * (rights - c_trad) * autonomy - burden_weight * burden


@kernel
def _spare(k, available, informal):
    """Hours/week a family carer (row ``k``; none if negative) has beyond the care they give."""
    return max(available[k] - informal[k], 0.0) if k >= 0 else 0.0


@kernel
def offer_choice(capability, carer, available, informal, autonomy, expect_broker, push, g_dp,
                 g_mpb, g_trad, allow_trad, scale, c_trad, c_managed, c_dp, w_control,
                 burden_weight, admin_dp, admin_mpb, admin_per_pa, pa_hours, unplanned_mult,
                 manage_hours, carer_help, broker_help):
    """Each offered person's pick: a direct payment, a managed PB or (if ``allow_trad``) their
    traditional package, whichever is highest of the route's value (``_route_value`` with a
    full plan, no PAs yet, brokerage if expected) plus ``push``, plus ``scale`` times its
    Gumbel taste (``g_*``; the traditional package's value is its taste alone).  Returns
    route codes."""
    out = np.empty(capability.size, dtype=np.int8)
    for j in range(capability.size):
        spare = _spare(carer[j], available, informal)
        v_dp = _route_value(DP, 1.0, 0.0, capability[j], spare, expect_broker[j], autonomy[j],
                            c_trad, c_managed, c_dp, w_control, burden_weight, admin_dp,
                            admin_mpb, admin_per_pa, pa_hours, unplanned_mult, manage_hours,
                            carer_help, broker_help) + push[j]
        v_mpb = _route_value(MPB, 1.0, 0.0, capability[j], spare, expect_broker[j],
                             autonomy[j], c_trad, c_managed, c_dp, w_control, burden_weight,
                             admin_dp, admin_mpb, admin_per_pa, pa_hours, unplanned_mult,
                             manage_hours, carer_help, broker_help) + push[j]
        v_dp = v_dp + scale * g_dp[j]
        v_mpb = v_mpb + scale * g_mpb[j]
        v_trad = scale * g_trad[j] if allow_trad else -np.inf
        if v_trad >= v_dp and v_trad >= v_mpb:
            out[j] = codes.TRAD
        elif v_dp >= v_mpb:
            out[j] = DP
        else:
            out[j] = MPB
    return out


@kernel
def reconsider_choice(route, q, pa_used, capability, carer, available, informal, brokered,
                      autonomy, met, g_now, g_mpb, g_trad, scale, status_quo, w_met, c_trad,
                      c_managed, c_dp, w_control, burden_weight, admin_dp, admin_mpb,
                      admin_per_pa, pa_hours, unplanned_mult, manage_hours, carer_help,
                      broker_help):
    """Each PB holder's pick at a review: stay (their route's value with the PAs they employ
    and the plan they had, less the weight of need left unmet), a managed PB (direct-payment
    holders only) or a traditional package, each but staying less ``status_quo``, each plus
    ``scale`` times its Gumbel taste.  Returns the route moved to (``TRAD`` or ``MPB``), or -1
    to stay."""
    out = np.full(route.size, -1, dtype=np.int8)
    for j in range(route.size):
        r = route[j]
        spare = _spare(carer[j], available, informal)
        v_now = (_route_value(r, q[j], pa_used[j], capability[j], spare, brokered[j],
                              autonomy[j], c_trad, c_managed, c_dp, w_control, burden_weight,
                              admin_dp, admin_mpb, admin_per_pa, pa_hours, unplanned_mult,
                              manage_hours, carer_help, broker_help)
                 + w_met * (met[j] - 1.0) + scale * g_now[j])
        v_mpb = -np.inf
        if r == DP:
            v_mpb = (_route_value(MPB, q[j], 0.0, capability[j], spare, brokered[j],
                                  autonomy[j], c_trad, c_managed, c_dp, w_control,
                                  burden_weight, admin_dp, admin_mpb, admin_per_pa, pa_hours,
                                  unplanned_mult, manage_hours, carer_help, broker_help)
                     - status_quo + scale * g_mpb[j])
        v_trad = -status_quo + scale * g_trad[j]
        if v_trad > v_now and v_trad >= v_mpb:
            out[j] = codes.TRAD
        elif v_mpb > v_now:
            out[j] = MPB
    return out


@kernel
def convert_rows(rows, new_route, new_quality, t, council, queue_since, qol, choice, qol_before,
                 choice_before, route, plan_quality, in_queue, planning_until, wants_route,
                 converted_step, review_step, cum_pb_cost, cum_trad_equiv, cum_trad_own,
                 cum_wanted, cum_bought, cum_spend, cum_broker, cum_council, n_c):
    """The bookkeeping of a move to a personal budget: outcomes before it kept, route and
    plan quality set, queue and planning state cleared, conversion and review week set, the
    running sums of the person's PB weeks zeroed.  Returns, per council, the weeks waited
    from joining the queue (0 if never queued) and the conversions, in all and after a plan
    (quality > 0)."""
    wait_sum = np.zeros(n_c)
    count = np.zeros(n_c, dtype=np.int64)
    wait_planned = np.zeros(n_c)
    count_planned = np.zeros(n_c, dtype=np.int64)
    for j in range(rows.size):
        i = rows[j]
        qol_before[i] = qol[i]
        choice_before[i] = choice[i]
        route[i] = new_route[j]
        plan_quality[i] = new_quality[j]
        in_queue[i] = False
        planning_until[i] = -1
        wants_route[i] = -1
        converted_step[i] = t
        review_step[i] = t
        cum_pb_cost[i] = 0.0
        cum_trad_equiv[i] = 0.0
        cum_trad_own[i] = 0.0
        cum_wanted[i] = 0.0
        cum_bought[i] = 0.0
        cum_spend[i] = 0.0
        cum_broker[i] = 0.0
        cum_council[i] = 0.0
        c = council[i]
        wait = float(t - queue_since[i]) if queue_since[i] >= 0 else 0.0
        wait_sum[c] += wait
        count[c] += 1
        if new_quality[j] > 0.0:
            wait_planned[c] += wait
            count_planned[c] += 1
    return wait_sum, count, wait_planned, count_planned


@kernel
def outcomes(delivered, mix, fit, need, route, council, carer, available, informal, brokered,
             plan_quality, autonomy, capability, disrupted_until, t, w_met, w_fit,
             w_control, disruption_penalty, c_trad, c_managed, c_dp, burden_weight,
             unplanned_mult, admin_dp, admin_mpb, admin_per_pa, pa_hours, manage_hours,
             carer_help, broker_help, choice_control_weight, burden_aversion, variety_bonus,
             variety_options, met_out, qol_out, choice_out, window, win_qol, win_choice,
             win_unmet, win_need, win_weeks, n_c):
    """Quality of life, choice/control and need met for community users (see outcomes.py for
    the formula; residents keep theirs), their sums over the effect window (when ``window``),
    plus the per-(council, route) sums the weekly record needs: people, need, unmet need,
    quality of life, choice, burden, packages holding home care (agency hours in the mix),
    holding day care, and agency hours delivered.  Empty rows (route ``GONE``) are skipped: their census
    column stays zero."""
    # count, need, unmet, qol, choice, burden, home care, day care, home-care hours
    sums = np.zeros((9, n_c, N_ROUTES))
    for i in range(route.size):
        r = np.int64(route[i])
        if r == GONE:       # an empty row: nothing to measure, no memory traffic for it
            continue
        c = council[i]
        hours = 0.0
        for k in range(N_OPTIONS):
            hours += delivered[k, i]
        nd = need[i]
        if r >= RES:
            # A resident keeps their outcomes and bears no burden: their preferences, plan,
            # carer and disruption need not be read (a fifth of the rows nationally).
            q = qol_out[i]
            ch = choice_out[i]
            burden = 0.0
            comm = False
        else:
            fitted = 0.0
            fit_sum = 0.0
            used = 0
            for k in range(N_OPTIONS):
                d = delivered[k, i]
                f = fit[k, i]
                fitted += d * f
                fit_sum += f
                used += np.int64(d > 0.5)
            met = min(hours, nd) / nd if nd > 0.0 else 1.0   # no need: nothing unmet
            fm = fitted / hours if hours > 0.0 else fit_sum / N_OPTIONS
            k = carer[i]
            spare = available[k] - informal[k] if k >= 0 else 0.0
            q_plan = plan_quality[i]
            control = _control(r, q_plan, c_trad, c_managed, c_dp)
            burden = _burden(r, q_plan, delivered[PA, i], capability[i], spare, brokered[i],
                             admin_dp, admin_mpb, admin_per_pa, pa_hours, unplanned_mult,
                             manage_hours, carer_help, broker_help)
            a = autonomy[i]
            q = w_met * met + w_fit * fm + w_control * (control * a + c_trad * (1.0 - a)) \
                - burden_weight * burden
            q -= disruption_penalty if disrupted_until[i] > t else 0.0
            ch = choice_control_weight * (control * a - burden_aversion * burden * (1.0 - a)) \
                + variety_bonus / variety_options * min(max(used - 1, 0), variety_options)
            comm = True
            met_out[i] = met
            q = min(max(q, 0.0), 1.0)
            ch = min(max(ch, 0.0), 1.0)
            qol_out[i] = q
            choice_out[i] = ch
        unmet = max(nd - hours, 0.0)
        sums[0, c, r] += 1.0
        sums[1, c, r] += nd
        sums[2, c, r] += unmet
        sums[3, c, r] += q
        sums[4, c, r] += ch
        sums[5, c, r] += burden
        sums[6, c, r] += 1.0 if mix[AGENCY, i] > 0.0 else 0.0
        sums[7, c, r] += 1.0 if mix[DAY, i] > 0.0 else 0.0
        sums[8, c, r] += delivered[AGENCY, i]
        if window:      # the same for every row of a call: a branch the CPU predicts
            win_qol[i] += q
            win_choice[i] += ch
            win_unmet[i] += unmet if comm else 0.0
            win_need[i] += nd if comm else 0.0
            win_weeks[i] += np.int32(1)
    return sums


@kernel
def exits_and_need(route, group, total_need, informal, need, exit_clock, hazard, shock_step, t,
                   drift, exit_rate, shock_size, residential_mult, residential_threshold):
    """Who leaves this week (the exit hazard accumulated since entry, ``exit_rate`` by group
    per week, ``residential_mult`` times it in a care home, has reached their exit clock), and
    everyone's need progression: drift by group, plus a step increase for those whose shock
    step has come (total need is capped at a week's hours).  Returns the rows leaving, the
    rows shocked (who need a new shock step drawn), and the community users staying whose
    total need is above the residential-care threshold."""
    leaving = np.empty(route.size, dtype=np.int64)
    shocked = np.empty(route.size, dtype=np.int64)
    high = np.empty(route.size, dtype=np.int64)
    n_l = n_s = n_h = 0
    for i in range(route.size):
        r = route[i]
        if r == GONE:       # an empty row: nothing changes
            continue
        h = hazard[i] + exit_rate[group[i]] * (residential_mult if r >= RES else 1.0)
        hazard[i] = h
        leave = h >= exit_clock[i]
        shock = shock_step[i] <= t
        grow = 1.0 + drift[group[i]] + (shock_size if shock else 0.0)
        tn = min(total_need[i] * grow, HOURS_PER_WEEK)
        total_need[i] = tn
        need[i] = max(tn - informal[i], 0.0)
        leaving[n_l] = i
        n_l += np.int64(leave)
        shocked[n_s] = i
        n_s += np.int64(shock)
        high[n_h] = i
        n_h += np.int64((r < RES) & ~leave & (tn > residential_threshold))
    return leaving[:n_l].copy(), shocked[:n_s].copy(), high[:n_h].copy()


@kernel
def main_provider(rows, mix, council, draws, prov, cum, lo, hi, base, top, out):
    """Each of ``rows``' main provider (into ``out``, -1 for none): in the market of their
    council and of the market option with most hours in ``mix`` (the first of equals; none if
    no hours), the provider whose stretch of cumulative capacity ``cum`` holds the point
    ``draws[j]`` of the way through the market's (``providers.ProviderIndex``: edges by
    market, ``lo``/``hi`` their range, ``base``/``top`` the capacity before and through it)."""
    n_prov = prov.size
    for j in range(rows.size):
        r = rows[j]
        best = 0
        v = mix[0, r]
        for o in range(1, N_MARKET_OPTIONS):
            if mix[o, r] > v:
                v = mix[o, r]
                best = o
        m = council[r] * N_TYPES + best
        if not (v > 0.0 and hi[m] > lo[m]):
            out[r] = -1
            continue
        d = base[m] + draws[j] * (top[m] - base[m])
        a, b = 0, cum.size            # the first edge whose cumulative capacity exceeds d
        while a < b:
            mid = (a + b) >> 1
            if cum[mid] <= d:
                a = mid + 1
            else:
                b = mid
        idx = min(max(a, lo[m]), max(hi[m] - 1, 0))
        out[r] = prov[min(idx, n_prov - 1)]


@kernel
def allocate_staff(group, pay, want, free):
    """Workers free in each pool (``free[group]``) go to the providers paying most first;
    those paying the same (a tier) share what is left pro rata.  Returns staff hours each
    provider gets (see ``labour._allocate``)."""
    n = want.size
    got = np.empty(n)
    if n == 0:
        return got
    # Order by pool, then pay (highest first), then row: a counting sort by pool (rows stay
    # in order), then a stable sort by pay within each pool.
    n_g = group.max() + 1
    start = np.zeros(n_g + 1, dtype=np.int64)
    for i in range(n):
        start[group[i] + 1] += 1
    for g in range(n_g):
        start[g + 1] += start[g]
    order = np.empty(n, dtype=np.int64)
    fill = start[:-1].copy()
    for i in range(n):
        order[fill[group[i]]] = i
        fill[group[i]] += 1
    for g in range(n_g):
        a, b = start[g], start[g + 1]
        if b - a > 1:
            seg = order[a:b].copy()
            order[a:b] = seg[np.argsort(-pay[seg], kind="mergesort")]
    tier = np.empty(n, dtype=np.int64)
    tier_want = np.zeros(n)
    tier_group = np.empty(n, dtype=np.int64)
    n_t = -1
    for j in range(n):
        i = order[j]
        if j == 0 or group[i] != group[order[j - 1]] or pay[i] != pay[order[j - 1]]:
            n_t += 1
            tier_group[n_t] = group[i]
        tier[j] = n_t
        tier_want[n_t] += want[i]
    n_t += 1
    share = np.empty(n_t)
    cum = 0.0
    start = 0.0
    for k in range(n_t):
        cum += tier_want[k]
        if k == 0 or tier_group[k] != tier_group[k - 1]:
            start = cum - tier_want[k]          # wanted before this pool's first tier
        before = cum - tier_want[k] - start     # wanted by better-paying tiers of the pool
        room = max(free[tier_group[k]] - before, 0.0)
        share[k] = min(room / tier_want[k], 1.0) if tier_want[k] > 0 else 0.0
    for j in range(n):
        i = order[j]
        got[i] = want[i] * share[tier[j]]
    return got


# The providers' week (``providers.finances``, ``labour.staffing``): the same arithmetic as
# the numpy expressions it replaced, row by row over the active providers ``act`` in order
# (sums per council accumulate in that order, as ``np.bincount`` does).  Columns of the
# provider table are passed whole and read and written at the rows ``act``.
_allocate_staff = kernel(allocate_staff, "_allocate_staff")


@kernel
def _maximum(a, b):
    """``np.maximum`` of two floats: ``a`` unless ``b`` is larger, NaN if either is NaN."""
    return a if (a >= b or a != a) else b


@kernel
def _minimum(a, b):
    """``np.minimum`` of two floats: ``a`` unless ``b`` is smaller, NaN if either is NaN."""
    return a if (a <= b or a != a) else b


@kernel
def _weekly_cost(t, cap, units, unit_labour, overhead, fixed_share):
    """£ a provider of type ``t`` pays in a week it delivers ``units`` (``providers.weekly_costs``):
    labour, a fixed share of it on its staffed capacity ``cap`` (none for personal assistants
    and community groups) and the rest per unit delivered, at ``unit_labour`` £/unit; plus its
    ``overhead``."""
    fixed = 0.0 if (t == PA or t == COMMUNITY) else fixed_share
    return (fixed * cap + (1 - fixed) * _minimum(units, cap)) * unit_labour + overhead


@kernel
def weekly_costs(ptype, capacity, units, unit_labour, overhead, fixed_share):
    """``_weekly_cost`` of each provider row (per-row arrays): what ``providers.weekly_costs``
    computes for providers being set up, by the same rule as the weekly books."""
    out = np.empty(ptype.size)
    for i in range(ptype.size):
        out[i] = _weekly_cost(ptype[i], capacity[i], units[i], unit_labour[i], overhead[i],
                              fixed_share)
    return out


@kernel
def provider_costs(act, ptype, home, capacity, overhead, own_wage, delivered_ema, staffed, posts,
                   delivered, wage, e_active, e_provider, e_volume, e_hours, guarantee,
                   contracted, labour_per_unit, on_cost, fixed_share, smoothing, slack, ahead,
                   staff_adjust):
    """The first half of a provider's week (``providers.finances``), before its staffing:
    returns each of ``act``'s costs at this week's ``delivered`` units (before recruitment)
    and its staffed capacity this week; updates the smoothed units delivered
    (``delivered_ema``) and the posts it wants staffed (``posts``: demand plus slack, and with
    ``contracted`` the guaranteed hours of its block contracts not called off, opened
    ``ahead`` of its leavers; shed gradually; care homes staff their beds, a personal
    assistant's post is fixed)."""
    n = act.size
    cost = np.empty(n)
    cap_now = np.empty(n)
    # Per provider row: the block contracts' guaranteed hours not called off
    # (``guarantee`` of each active contract's volume, less the hours bought under it).
    reserved = np.zeros(capacity.size)
    if contracted:
        for k in range(e_provider.size):
            if e_active[k] and e_volume[k] > 0:
                reserved[e_provider[k]] += _maximum(guarantee * e_volume[k] - e_hours[k], 0.0)
    for j in range(n):
        i = act[j]
        t = ptype[i]
        cap = capacity[i]
        cap_now[j] = cap
        unit_labour = labour_per_unit[t] * _maximum(wage[home[i]], own_wage[i]) * on_cost
        cost[j] = _weekly_cost(t, cap, delivered[i], unit_labour, overhead[i], fixed_share)
        ema = (1 - smoothing) * delivered_ema[i] + smoothing * delivered[i]
        delivered_ema[i] = ema
        expected = ema * (1 + slack)
        if contracted:
            expected = expected + reserved[i]
        target = expected * (1 + ahead[t])
        now = staffed[i]
        want = target if target >= now else now - staff_adjust * (now - target)
        if t == RESIDENTIAL:
            posts[i] = cap
        elif t != PA:
            posts[i] = _maximum(want, 0.0)
    return cost, cap_now


@kernel
def staffing(act, ptype, home, price, own_wage, staffed, posts, capacity, wage, labour_pool,
             pa_pool, labour_per_unit, turnover, on_cost, pay_sensitivity, fill_rate,
             worker_hours, recruit_cost, n_c):
    """One week of the workforce of providers ``act`` (``labour.staffing``; their ``posts``
    set): staff leave (at ``turnover`` a year by type, more where pay is below the council's
    going rate), open posts are filled from the pools (``_allocate_staff``), ``staffed`` and
    (but for care homes) ``capacity`` updated.  Returns each provider's recruitment cost (£),
    and per (council, type) vacant and wanted staff hours, and per council staff hours
    leaving and in post before, hours hired, recruitment cost (£)."""
    n = act.size
    lab = np.empty(n)
    pay = np.empty(n)
    keep = np.empty(n)           # staff kept (leavers gone, surplus let go)
    leavers = np.empty(n)
    want = np.empty(n)
    group = np.empty(n, dtype=np.int64)
    # The going rate: what care-worker employers in the council pay, weighted by staff.
    paid = np.zeros(n_c)
    employed = np.zeros(n_c)
    for j in range(n):
        i = act[j]
        t = ptype[i]
        is_pa = t == PA
        lab[j] = labour_per_unit[t]
        w = _maximum(wage[home[i]], own_wage[i])
        pay[j] = price[i] / on_cost if is_pa else w
        emp = lab[j] * staffed[i] * (0.0 if is_pa else 1.0)
        paid[home[i]] += emp * pay[j]
        employed[home[i]] += emp
    going = np.empty(n_c)
    for c in range(n_c):
        g = paid[c] / employed[c] if employed[c] > 0 else np.nan
        going[c] = wage[c] if g != g else g
    used = np.zeros(n_c)
    used_pa = np.zeros(n_c)
    for j in range(n):
        i = act[j]
        t = ptype[i]
        h = home[i]
        is_pa = t == PA
        below = 0.0 if is_pa else _maximum(1.0 - pay[j] / _maximum(going[h], 1e-9), 0.0)
        leave = _minimum(turnover[t] / WEEKS_PER_YEAR * (1.0 + pay_sensitivity * below), 1.0)
        leavers[j] = staffed[i] * leave
        keep[j] = _minimum(staffed[i] - leavers[j], posts[i])
        used[h] += lab[j] * keep[j]
        if is_pa:
            used_pa[h] += keep[j]
        want[j] = _maximum(posts[i] - keep[j], 0.0) * fill_rate * lab[j]
        group[j] = h * 2 + (1 if is_pa else 0)
    free = np.empty(2 * n_c)         # by pool: council's care workers, then its PA pool
    for c in range(n_c):
        free[2 * c] = _maximum(labour_pool[c] - used[c], 0.0)
        free[2 * c + 1] = _maximum(pa_pool[c] - used_pa[c], 0.0)
    got = _allocate_staff(group, pay, want, free)
    recruit = np.empty(n)
    vacant = np.zeros(n_c * N_TYPES)
    wanted = np.zeros(n_c * N_TYPES)
    leaving = np.zeros(n_c)
    before = np.zeros(n_c)
    hired = np.zeros(n_c)
    recruiting = np.zeros(n_c)
    for j in range(n):
        i = act[j]
        t = ptype[i]
        h = home[i]
        s = keep[j] + got[j] / _maximum(lab[j], 1e-12) if lab[j] > 0 else posts[i]
        leaving[h] += lab[j] * leavers[j]
        before[h] += lab[j] * staffed[i]
        staffed[i] = s
        if t != RESIDENTIAL:
            capacity[i] = s
        # A direct-payment holder recruits their own PA (time, not money).
        recruit[j] = 0.0 if t == PA else got[j] / worker_hours * recruit_cost
        vacant[h * N_TYPES + t] += lab[j] * _maximum(posts[i] - s, 0.0)
        wanted[h * N_TYPES + t] += lab[j] * posts[i]
        hired[h] += got[j]
        recruiting[h] += recruit[j]
    return recruit, vacant, wanted, leaving, before, hired, recruiting


@kernel
def _list_price(t, price, cap, asked, unit, overhead, built, units, block_units, block_revenue,
                unit_labour, council_rate, adjust, target, step_max, on_built, markup,
                recovery_cap):
    """A provider's list price for next week (``providers.finances``): moved toward the
    ``target`` utilisation by demand pressure (``asked`` / ``cap``), at most ``step_max`` a
    week, never below its cost floor (full cost ``unit`` per unit, its fixed ``overhead``
    spread over the size it was ``built`` for with ``on_built``, with ``markup``, plus what
    its contracts leave short charged to private buyers, at most ``recovery_cap`` of full
    cost; never below ``unit_labour``); a care home's follows its floor both ways (never below
    its ``council_rate``)."""
    pressure = asked / cap if cap > 0 else 0.0
    change = _minimum(_maximum(adjust * (pressure - target), -step_max), step_max)
    moved = price * (1 + change)
    std_units = target * cap
    if on_built:
        spread = _maximum(built, cap)
        unit = unit - overhead * (1.0 / _maximum(std_units, 1e-9)
                                  - 1.0 / _maximum(target * spread, 1e-9)) * (
                                      1.0 if std_units > 0 else 0.0)
    full = unit * (1.0 if t == RESIDENTIAL else 1 + markup)
    private = _maximum(units - block_units, 0.0)
    short = _maximum(full * block_units - block_revenue, 0.0)
    surcharge = _minimum(short / _maximum(private, 1e-9), recovery_cap * full)
    floor = _maximum(unit_labour, full + surcharge)
    step_up = price * (1 + step_max)
    if t == RESIDENTIAL:
        floor = _maximum(floor, council_rate)
        return _minimum(_maximum(floor, price * (1 - step_max)), step_up)
    return _maximum(moved, _minimum(floor, step_up))


@kernel
def provider_books(act, ptype, home, cap, cost, units, revenue, block_revenue, block_units,
                   delivered, revenue_out, block_revenue_out, cost_out, cash, cum_revenue,
                   cum_cost, margin_ema, unit_cost, overhead, own_wage, wage, asked, built,
                   price, block_price, labour_per_unit, turnover, on_cost, fixed_share,
                   smoothing, target, worker_hours, recruit_cost, adjust, step_max, on_built,
                   markup, recovery_cap, t_now, entered_step, tolerance, grace,
                   handback_margin, overdraft_weeks, exit_margin):
    """The second half of a provider's week (``providers.finances``), after its staffing: the
    week's ``units``, ``revenue``, ``block_revenue`` and ``cost`` (recruitment included) into
    the books (``cash``, cumulative sums), the smoothed margin, the full cost per unit at the
    ``target`` utilisation of its staffed capacity ``cap`` (expected recruitment included;
    labour alone if it has none) and its list price (``_list_price``).  Returns the rows
    losing money (past their ``grace`` weeks, smoothed margin below -``handback_margin``)
    and, for each of ``act``, whether it is insolvent (cash below -``overdraft_weeks`` of
    its cost, or past its grace weeks with a smoothed margin below -``exit_margin``; both
    scaled by its ``tolerance``)."""
    n = act.size
    losing = np.empty(n, dtype=np.int64)
    n_losing = 0
    insolvent = np.empty(n, dtype=np.bool_)
    for j in range(n):
        i = act[j]
        t = ptype[i]
        c = cost[j]
        delivered[i] = units[i]
        revenue_out[i] = revenue[i]
        block_revenue_out[i] = block_revenue[i]
        cost_out[i] = c
        cash[i] += revenue[i] - c
        cum_revenue[i] += revenue[i]
        cum_cost[i] += c
        margin = (revenue[i] - c) / _maximum(c, 1e-9)
        margin_ema[i] = (1 - smoothing) * margin_ema[i] + smoothing * margin
        unit_labour = labour_per_unit[t] * _maximum(wage[home[i]], own_wage[i]) * on_cost
        std_units = target * cap[j]
        if std_units > 0:
            per_week = turnover[t] / WEEKS_PER_YEAR * labour_per_unit[t] * cap[j]
            recruit = 0.0 if t == PA else per_week / worker_hours * recruit_cost
            unit_cost[i] = (_weekly_cost(t, cap[j], std_units, unit_labour, overhead[i],
                                         fixed_share) + recruit) / _maximum(std_units, 1e-9)
        else:
            unit_cost[i] = unit_labour
        price[i] = _list_price(t, price[i], cap[j], asked[i], unit_cost[i], overhead[i],
                               built[i], units[i], block_units[i], block_revenue[i],
                               unit_labour, block_price[home[i], RESIDENTIAL], adjust, target,
                               step_max, on_built, markup, recovery_cap)
        judged = (t_now - entered_step[i]) >= grace
        if judged and margin_ema[i] < -handback_margin:
            losing[n_losing] = i
            n_losing += 1
        insolvent[j] = (cash[i] < -overdraft_weeks * tolerance[i] * c) or (
            judged and margin_ema[i] < -exit_margin * tolerance[i])
    return losing[:n_losing].copy(), insolvent


@kernel
def _tariff(capital, lower, step):
    """£/week of tariff income: £1 for each ``step`` (or part of one) of capital above
    ``lower``."""
    return np.ceil(max(capital - lower, 0.0) / step)


@kernel
def tariff_income(capital, lower, step):
    """``_tariff`` for each of ``capital``."""
    out = np.empty(capital.size)
    for i in range(capital.size):
        out[i] = _tariff(capital[i], lower, step)
    return out


@kernel
def means_test(capital, main_provider, route, council, price, home_council, fee_by_council,
               income, upper, lower, tariff_step, n_c, n_p):
    """The week's means test of care-home residents who came in with capital (see
    ``market.charge_residents``): a self-funder pays the home's price less their income from
    capital and is council-funded once it reaches ``upper``; a council-funded resident pays
    tariff income (£1 per ``tariff_step`` above ``lower``, at most the fee less income) from
    capital.  Returns self-funders per home (before the switches), tariff income per council
    and switches per council."""
    occupied_self = np.zeros(n_p)
    tariffs = np.zeros(n_c)
    funded = np.zeros(n_c, dtype=np.int64)
    for i in range(capital.size):
        cap = capital[i]
        if not cap > 0.0:
            continue
        h = main_provider[i]
        if h < 0:
            continue
        r = route[i]
        if r == RES_SELF:
            occupied_self[h] += 1.0
            cap = cap - max(price[h] - income, 0.0)
            capital[i] = cap
            if cap <= upper:
                route[i] = RES
                funded[council[i]] += 1
        elif r == RES:
            fee = fee_by_council[home_council[h]]
            t = min(_tariff(cap, lower, tariff_step), max(fee - income, 0.0))
            capital[i] = max(cap - t, 0.0)
            tariffs[council[i]] += t
    return occupied_self, tariffs, funded


@kernel
def family_pass(active, user, available, informal, strain, strain_offset, paid, replaced,
                cum_received, mix, delivered, same_household, paid_extra_share, family_rate,
                replace_resident, replace_other, payment_relief, strain_rate, strain_base,
                strain_load, recovery_load, respite_relief, respite_hours, burnout_threshold,
                council, n_c):
    """Family carers' week (see carers.py): hours added to the person's care (the mix's family
    hours, up to the carer's spare hours), the unpaid hours that paying the carer turns into
    paid ones (``replace_*`` share of paid hours, by whether they live together), and strain
    moving toward the level the load implies.  Returns £ paid per carer row, the carer rows
    above the burnout threshold (who may burn out: drawn by the caller), and per council the
    carers, their total strain and how many are paid (for the weekly record).  A carer shares
    its row with the person cared for, so ``user[k] == k`` and the users' columns are read in
    order."""
    pay = np.zeros(active.size)
    at_risk = np.empty(active.size, dtype=np.int64)
    n_r = 0
    sums = np.zeros((n_c, 3))
    for k in range(active.size):
        if not active[k]:     # no carer in this row: nothing to read or write for it
            continue
        i = user[k]
        spare = max(available[k] - informal[k], 0.0) * paid_extra_share
        added = min(mix[4, i], spare)
        share = replace_resident if same_household[k] else replace_other
        rep = min(added * share / max(1.0 - share, 1e-6), informal[k])
        h = added + rep
        paid[k] = h
        replaced[k] = rep
        delivered[4, i] = added
        pk = h * family_rate
        pay[k] = pk
        cum_received[k] += pk
        load = (informal[k] - rep + h * (1.0 - payment_relief)) / max(available[k], 1.0)
        respite = (delivered[DAY, i] + delivered[COMMUNITY, i]) / respite_hours
        target = strain_base + strain_load * (load - recovery_load) - respite_relief * respite \
            + strain_offset[k]
        target = min(max(target, 0.0), 1.0)
        s = strain[k] + strain_rate * (target - strain[k])
        s = min(max(s, 0.0), 1.0)
        strain[k] = s
        at_risk[n_r] = k
        n_r += np.int64(s > burnout_threshold)
        c = council[i]
        sums[c, 0] += 1.0
        sums[c, 1] += s
        sums[c, 2] += 1.0 if h > 0.0 else 0.0
    return pay, at_risk[:n_r].copy(), sums


@kernel
def rollout_scan(council, route, in_queue, brokered, n_c):
    """What the rollout phase needs from the whole table, in one pass: people per (council,
    route), brokered people per council, and the rows in the conversion queue."""
    by_route = np.zeros((n_c, N_ROUTES), dtype=np.int64)
    broker_used = np.zeros(n_c, dtype=np.int64)
    queued = np.empty(route.size, dtype=np.int64)
    n_q = 0
    for i in range(route.size):
        r = route[i]
        c = council[i]
        by_route[c, r] += 1
        broker_used[c] += np.int64(brokered[i] & (r < GONE))
        queued[n_q] = i
        n_q += np.int64(in_queue[i])
    return by_route, broker_used, queued[:n_q].copy()


@kernel
def due_for_review(route, review_step, cutoff):
    """Rows of people (route not GONE) last reviewed at or before ``cutoff``."""
    out = np.empty(route.size, dtype=np.int64)
    n = 0
    for i in range(route.size):
        out[n] = i
        n += np.int64((route[i] < GONE) & (review_step[i] <= cutoff))
    return out[:n].copy()


@kernel
def residents_per_home(route, main_provider, n_providers):
    """Occupied beds per care home."""
    occ = np.zeros(n_providers)
    for i in range(route.size):
        if route[i] >= RES and main_provider[i] >= 0:    # GONE rows have none
            occ[main_provider[i]] += 1.0
    return occ


@kernel
def package_costs(route, council, spend, budget, brokered, assessed, pc_share, c_trad_own,
                  c_wanted, c_bought, cum_pb_cost, cum_trad_equiv, cum_trad_own, cum_wanted,
                  cum_bought, cum_spend, cum_broker, cum_council, broker_fee, block_agency,
                  block_day, ag_factor, threshold):
    """PB holders' week added to their running totals: the package cost (support bought +
    brokerage share), the traditional cost of the same assessed need at the council's block
    prices, the parts of the difference (the traditional mix at their own prices, the mix
    they chose, that mix cut to the budget, what they spent, brokerage) and the council's
    cost (a direct payment's transfer, recoveries are subtracted when made; a managed PB's
    spend)."""
    for i in range(route.size):
        r = route[i]
        if not _holds_pb(r):
            continue
        b = broker_fee if brokered[i] else 0.0
        cum_pb_cost[i] += spend[i] + b
        cum_trad_equiv[i] += _trad_cost(assessed[i], pc_share[i], block_agency[council[i]],
                                        block_day[council[i]], ag_factor, threshold)
        cum_trad_own[i] += c_trad_own[i]
        cum_wanted[i] += c_wanted[i]
        cum_bought[i] += c_bought[i]
        cum_spend[i] += spend[i]
        cum_broker[i] += b
        cum_council[i] += (budget[i] if r == DP else spend[i]) + b


@kernel
def _trad_cost(hours, pc_share, block_agency, block_day, ag_factor, threshold):
    """£/week the council pays for ``hours`` of need under block contracts: agency care for the
    personal-care share (intensive hours cost more staff time), day services for the rest."""
    agency = _units(hours * pc_share, ag_factor, threshold)
    return agency * block_agency + hours * (1.0 - pc_share) * block_day


@kernel
def traditional_cost(hours, pc_share, council, block_agency, block_day, ag_factor, threshold):
    """``_trad_cost`` for a set of people (the RAS reference and the saving baseline)."""
    out = np.empty(hours.size)
    for j in range(hours.size):
        c = council[j]
        out[j] = _trad_cost(hours[j], pc_share[j], block_agency[c], block_day[c], ag_factor,
                            threshold)
    return out


@kernel
def users_of(main_provider, route, gone_mask):
    """Rows of users whose main provider is flagged in ``gone_mask`` (a provider-row mask)."""
    out = np.empty(route.size, dtype=np.int64)
    n = 0
    for i in range(route.size):
        p = main_provider[i]
        if p >= 0 and route[i] < GONE and gone_mask[p]:
            out[n] = i
            n += 1
    return out[:n]


@kernel
def spot_rounds(edge_market, edge_provider, edge_share, p_e, free, left, beta, n_markets,
                rounds):
    """The spot market's allocation rounds (see market.py): each round, every market's
    remaining demand is shared over its edges by the free capacity the provider offers there
    (its free capacity x ``edge_share``, renormalised over its markets with demand left) x
    exp(-beta (price / mean price - 1)); providers asked for more than they have fill pro
    rata; what is left spills to the next round.  Updates ``free`` and ``left``; returns units
    per edge and units asked of each edge in the first round."""
    n_e = edge_market.size
    edge_spot = np.zeros(n_e)
    asked = np.zeros(n_e)
    w = np.empty(n_e)
    req = np.empty(n_e)
    total0 = max(left.sum(), 1.0)
    n_p = free.size
    for rnd in range(rounds):
        # Each provider's offer is renormalised over the markets that still want units, so
        # capacity offered to a cleared market is offered to the others in the next round.
        s_p = np.zeros(n_p)
        for e in range(n_e):
            if left[edge_market[e]] > 0:
                s_p[edge_provider[e]] += edge_share[e]
        wsum = np.zeros(n_markets)
        psum = np.zeros(n_markets)
        for e in range(n_e):
            m = edge_market[e]
            if left[m] > 0 and s_p[edge_provider[e]] > 0:
                b = free[edge_provider[e]] * edge_share[e] / s_p[edge_provider[e]]
                wsum[m] += b
                psum[m] += p_e[e] * b
        w_m = np.zeros(n_markets)
        for e in range(n_e):
            m = edge_market[e]
            p = edge_provider[e]
            b = free[p] * edge_share[e] / s_p[p] if left[m] > 0 and s_p[p] > 0 else 0.0
            if b > 0.0:                 # most edges are full or in cleared markets by round 2
                mean = psum[m] / wsum[m] if wsum[m] > 0 else 0.0
                if mean <= 0:
                    mean = 1.0
                w[e] = b * np.exp(-beta * (p_e[e] / mean - 1.0))
            else:
                w[e] = 0.0
            w_m[m] += w[e]
        if not (w_m > 0).any():
            break
        req_p = np.zeros(n_p)
        for e in range(n_e):
            m = edge_market[e]
            req[e] = left[m] * (w[e] / w_m[m]) if w_m[m] > 0 else 0.0
            req_p[edge_provider[e]] += req[e]
            if rnd == 0:
                asked[e] += req[e]
        got_p = np.zeros(n_p)
        got_m = np.zeros(n_markets)
        for e in range(n_e):
            p = edge_provider[e]
            f = free[p] / req_p[p] if req_p[p] > free[p] else 1.0
            g = req[e] * f
            edge_spot[e] += g
            got_p[p] += g
            got_m[edge_market[e]] += g
        for p in range(n_p):
            free[p] = max(free[p] - got_p[p], 0.0)
        for m in range(n_markets):
            left[m] = max(left[m] - got_m[m], 0.0)
        if left.sum() <= 1e-9 * total0:
            break
    return edge_spot, asked


# The purchase phase's market arithmetic (``sim.market``) and the blocks phase's
# (``councils.manage_blocks``).  Each sum below is accumulated in row order, as ``np.bincount``
# does, and ``_maximum``/``_minimum`` (above) are ``np.maximum``/``np.minimum``, so the results
# are numpy's to the bit.  (Of equal values numpy returns the second, ``_maximum`` the first:
# they differ only for 0.0 against -0.0, which the quantities here, sums and products of
# non-negative numbers, never are.)


@kernel
def market_edges(active, provider, council, ptype):
    """The edges of the hour markets (active edges of providers other than care homes), in row
    order: their rows, providers and markets (council x N_TYPES + provider type)."""
    n = active.size
    rows = np.empty(n, dtype=np.int64)
    k = 0
    for e in range(n):
        if active[e] and ptype[provider[e]] != RESIDENTIAL:
            rows[k] = e
            k += 1
    rows = rows[:k].copy()
    prov = np.empty(k, dtype=np.int32)
    market = np.empty(k, dtype=np.int32)
    for j in range(k):
        p = provider[rows[j]]
        prov[j] = p
        market[j] = council[rows[j]] * N_TYPES + ptype[p]
    return rows, prov, market


@kernel
def capacity_share(edge_provider, last_units, n_providers, spread):
    """Share of its capacity a provider offers on each of its edges (``market.capacity_share``):
    ``spread`` of it evenly over its edges, the rest in proportion to ``last_units`` (its
    edges' units last week; evenly if it delivered none)."""
    n_e = edge_provider.size
    k = np.zeros(n_providers, dtype=np.int64)
    total = np.zeros(n_providers)
    for e in range(n_e):
        k[edge_provider[e]] += 1
        total[edge_provider[e]] += last_units[e]
    out = np.empty(n_e)
    for e in range(n_e):
        p = edge_provider[e]
        even = 1.0 / max(k[p], 1)
        busy = last_units[e] / total[p] if total[p] > 0 else even
        out[e] = (1.0 - spread) * busy + spread * even
    return out


@kernel
def clear_blocks(edge_market, edge_provider, capacity, price, block_volume, block_price,
                 guarantee, block_demand, spot_demand, reserve, n_markets):
    """The block call-off of ``market.clear`` and what it leaves for the spot market.  Each
    market's council calls off ``block_demand`` from its contracts pro rata to their volume (at
    most all of it); a provider asked for more than its ``capacity`` delivers pro rata; a
    contract is paid its price for what it delivered, but at least for ``guarantee`` of its
    volume.  A provider's capacity left free is what it did not deliver (with ``reserve``:
    what its contracts do not hold, delivered or guaranteed).  Returns per edge the units
    called off, delivered and £ paid, and its provider's price; per market the units
    delivered, £ paid, the part of it for guaranteed units not delivered, the demand blocks
    did not cover (overflow), the spot demand with the overflow, and that again (the spot
    rounds' units left); per provider the capacity free."""
    n_e = edge_market.size
    n_p = capacity.size
    vol_m = np.zeros(n_markets)
    for e in range(n_e):
        vol_m[edge_market[e]] += block_volume[e]
    call = np.empty(n_markets)
    for m in range(n_markets):
        call[m] = _minimum(1.0, block_demand[m] / vol_m[m]) if vol_m[m] > 0 else 0.0
    alloc = np.empty(n_e)
    req_p = np.zeros(n_p)
    for e in range(n_e):
        alloc[e] = block_volume[e] * call[edge_market[e]]
        req_p[edge_provider[e]] += alloc[e]
    edge_block = np.empty(n_e)
    edge_block_pay = np.empty(n_e)
    edge_price = np.empty(n_e)
    delivered = np.zeros(n_markets)
    paid = np.zeros(n_markets)
    idle = np.zeros(n_markets)
    held = np.zeros(n_p)
    for e in range(n_e):
        m = edge_market[e]
        p = edge_provider[e]
        f = capacity[p] / req_p[p] if req_p[p] > capacity[p] else 1.0
        units = alloc[e] * f
        bought = _maximum(units, guarantee * block_volume[e])
        pay = block_price[e] * bought
        edge_block[e] = units
        edge_block_pay[e] = pay
        edge_price[e] = price[p]
        delivered[m] += units
        paid[m] += pay
        idle[m] += pay - block_price[e] * units
        held[p] += bought if reserve else units
    overflow = np.empty(n_markets)
    demand = np.empty(n_markets)
    for m in range(n_markets):
        overflow[m] = _maximum(block_demand[m] - delivered[m], 0.0)
        demand[m] = spot_demand[m] + overflow[m]
    free = np.empty(n_p)
    for p in range(n_p):
        free[p] = _maximum(capacity[p] - held[p], 0.0)
    return (alloc, edge_block, edge_block_pay, edge_price, delivered, paid, idle, overflow,
            demand, demand.copy(), free)


@kernel
def spot_sales(edge_market, edge_spot, edge_price, alloc, asked, n_markets):
    """After the spot rounds of ``market.clear``: £ paid per edge (its units at its provider's
    price) and units asked of it (block call-off and first spot round); per market the units
    delivered and their average price (NaN if none)."""
    n_e = edge_market.size
    pay = np.empty(n_e)
    edge_asked = np.empty(n_e)
    units = np.zeros(n_markets)
    revenue = np.zeros(n_markets)
    for e in range(n_e):
        pay[e] = edge_spot[e] * edge_price[e]
        edge_asked[e] = alloc[e] + asked[e]
        units[edge_market[e]] += edge_spot[e]
        revenue[edge_market[e]] += pay[e]
    price = np.empty(n_markets)
    for m in range(n_markets):
        price[m] = revenue[m] / units[m] if units[m] > 0 else np.nan
    return pay, edge_asked, units, price


@kernel
def market_demand(demand, residents):
    """Per (council, type) market (council x N_TYPES + type): the council's demand (its
    traditional packages' and managed PBs' ``demand``, units) and the spot buyers'; and the
    council's purchases (its demand, council-funded ``residents`` for care homes)."""
    n_c = residents.size
    block = np.zeros(n_c * N_TYPES)
    spot = np.zeros(n_c * N_TYPES)
    for c in range(n_c):
        for o in range(N_MARKET_OPTIONS):
            block[c * N_TYPES + o] = demand[c, BUY_COUNCIL_TRAD, o] + demand[c, BUY_COUNCIL_MPB, o]
            spot[c * N_TYPES + o] = demand[c, BUY_SPOT, o]
    trad_units = block.copy()
    for c in range(n_c):
        trad_units[c * N_TYPES + RESIDENTIAL] = residents[c]
    return block, spot, trad_units


@kernel
def council_purchases(block_delivered, block_pay, block_idle_pay, overflow, spot_demand,
                      spot_delivered, spot_price, block_demand, demand):
    """What the week's clearing means for each buyer (see ``market.purchase``), per (council,
    type) market.  Spot buyers get the market's fill ratio at its average price; the council
    gets its block call-off plus its overflow at the spot fill, for traditional packages
    (paid by the council) and managed PBs (at the council's cost per unit).  Returns the fill
    ratio and £ per unit asked per (council, buyer, market option); per council £ of
    traditional spend on blocks, of it for guaranteed units unused, on spot, and on home care
    (agency); and per market the council's price per unit delivered (NaN if none)."""
    n_c = demand.shape[0]
    fill_tab = np.empty((n_c, N_BUYERS, N_MARKET_OPTIONS))
    pay_tab = np.empty((n_c, N_BUYERS, N_MARKET_OPTIONS))
    spend = np.zeros((4, n_c))
    council_paid = np.empty(n_c * N_TYPES)
    for c in range(n_c):
        for o in range(N_TYPES):
            m = c * N_TYPES + o
            price = 0.0 if np.isnan(spot_price[m]) else spot_price[m]
            fill = spot_delivered[m] / spot_demand[m] if spot_demand[m] > 0 else 1.0
            units = block_delivered[m] + overflow[m] * fill
            used = block_pay[m] - block_idle_pay[m]
            overflow_pay = overflow[m] * fill * price
            mpb = demand[c, BUY_COUNCIL_MPB, o] if o < N_MARKET_OPTIONS else 0.0
            if block_demand[m] > 0:
                trad_fill = units / block_demand[m]
                mpb_part = mpb / block_demand[m]
            else:
                trad_fill = 1.0
                mpb_part = 0.0
            council_price = (used + overflow_pay) / units if units > 0 else 0.0
            council_paid[m] = council_price if units > 0 else np.nan
            if o < N_MARKET_OPTIONS:
                fill_tab[c, BUY_SPOT, o] = fill
                fill_tab[c, BUY_COUNCIL_TRAD, o] = trad_fill
                fill_tab[c, BUY_COUNCIL_MPB, o] = trad_fill
                pay_tab[c, BUY_SPOT, o] = fill * price
                pay_tab[c, BUY_COUNCIL_TRAD, o] = 0.0
                pay_tab[c, BUY_COUNCIL_MPB, o] = trad_fill * council_price
            trad_block = block_pay[m] - mpb_part * used
            trad_spot = (1.0 - mpb_part) * overflow_pay
            spend[0, c] += trad_block
            spend[1, c] += block_idle_pay[m]
            spend[2, c] += trad_spot
            if o == AGENCY:
                spend[3, c] = trad_block + trad_spot
    return fill_tab, pay_tab, spend, council_paid


@kernel
def provider_sales(rows, provider, council, edge_asked, edge_block, edge_block_pay, edge_spot,
                   edge_spot_pay, block_hours, block_pay, spot_hours, edge_revenue, asked, n_c):
    """The hour markets' sales (edges ``rows`` of the edge table, with this week's units and £
    by edge) written to the edges (``block_hours``, ``block_pay``, ``spot_hours``,
    ``edge_revenue``: 0 on every other edge) and summed per provider (units asked of it into
    ``asked``); returns per provider units delivered, of them under block contracts, £ under
    block contracts and £ in all, and per council £ providers received."""
    n_p = asked.size
    delivered = np.zeros(n_p)
    block_units = np.zeros(n_p)
    block_rev = np.zeros(n_p)
    spot_rev = np.zeros(n_p)
    by_council = np.zeros(n_c)
    asked[:] = 0.0
    edge_revenue[:] = 0.0
    for j in range(rows.size):
        e = rows[j]
        p = provider[e]
        asked[p] += edge_asked[j]
        delivered[p] += edge_block[j] + edge_spot[j]
        block_units[p] += edge_block[j]
        block_rev[p] += edge_block_pay[j]
        spot_rev[p] += edge_spot_pay[j]
        block_hours[e] = edge_block[j]
        block_pay[e] = edge_block_pay[j]
        spot_hours[e] = edge_spot[j]
        edge_revenue[e] = edge_block_pay[j] + edge_spot_pay[j]
        by_council[council[e]] += edge_revenue[e]
    revenue = np.empty(n_p)
    for p in range(n_p):
        revenue[p] = block_rev[p] + spot_rev[p]
    return delivered, block_units, block_rev, revenue, by_council


@kernel
def care_home_sales(active, ptype, home, capacity, price, occupied_council, occupied_self,
                    fee_by_council, unplaced, revenue, block_rev, delivered, block_units,
                    occupied, asked):
    """Care homes' week (see ``market.care_homes``): the council pays its rate
    (``fee_by_council``) per council-funded resident, a self-funder the home's ``price``.
    Adds each home's fees and beds to the sales arrays (council fees as block revenue and
    units), sets its ``occupied`` beds and the beds ``asked`` of it (its residents and its
    share, by beds, of its council's ``unplaced`` seekers).  Returns each provider row's fees
    (0 for others) and per council its homes' beds, occupancy (residents / beds), mean fee
    per resident by payer (council, self), mean list price weighted by beds (each NaN
    without a denominator), and the fees by payer (£)."""
    n_c = fee_by_council.size
    fees = np.zeros(active.size)
    sums = np.zeros((6, n_c))
    for i in range(active.size):
        if not (active[i] and ptype[i] == RESIDENTIAL):
            continue
        h = home[i]
        oc = occupied_council[i]
        os_ = occupied_self[i]
        paid_c = oc * fee_by_council[h]
        paid_s = os_ * price[i]
        sums[0, h] += capacity[i]
        sums[1, h] += oc
        sums[2, h] += os_
        sums[3, h] += paid_c
        sums[4, h] += paid_s
        sums[5, h] += price[i] * capacity[i]
        fees[i] = paid_c + paid_s
        revenue[i] += paid_c + paid_s
        block_rev[i] += paid_c
        delivered[i] += oc + os_
        block_units[i] += oc
        occupied[i] = oc + os_
    for i in range(active.size):
        if active[i] and ptype[i] == RESIDENTIAL:
            h = home[i]
            waiting = unplaced[h] / sums[0, h] if sums[0, h] > 0 else 0.0
            asked[i] = occupied[i] + waiting * capacity[i]
    out = np.full((7, n_c), np.nan)
    for c in range(n_c):
        beds = sums[0, c]
        out[0, c] = beds
        if beds > 0:
            out[1, c] = (sums[1, c] + sums[2, c]) / beds
            out[4, c] = sums[5, c] / beds
        if sums[1, c] > 0:
            out[2, c] = sums[3, c] / sums[1, c]
        if sums[2, c] > 0:
            out[3, c] = sums[4, c] / sums[2, c]
        out[5, c] = sums[3, c]
        out[6, c] = sums[4, c]
    return fees, out


@kernel
def care_home_edges(active, provider, council, ptype, fees, edge_revenue, by_council):
    """Care homes' fees as the revenue of their edges (``edge_revenue``), added to the £
    providers received per council (``by_council``)."""
    for e in range(active.size):
        if active[e] and ptype[provider[e]] == RESIDENTIAL:
            f = fees[provider[e]]
            edge_revenue[e] = f
            by_council[council[e]] += f


@kernel
def hhi(groups, revenue, n):
    """Herfindahl-Hirschman index (0-10,000) of revenue shares within each of ``n`` groups."""
    total = np.zeros(n)
    for k in range(groups.size):
        total[groups[k]] += revenue[k]
    out = np.zeros(n)
    for k in range(groups.size):
        g = groups[k]
        share = revenue[k] / total[g] if total[g] > 0 else 0.0
        out[g] += share * share
    for g in range(n):
        out[g] = out[g] * 10_000
    return out


@kernel
def manage_blocks(active, council, provider, ptype, block_volume, block_price, block_end,
                  trad_units, fee, block_share, wind_rate, t, duration, renew, n_markets):
    """Block contracts' week (see ``councils.manage_blocks``): each market's volume beyond
    ``block_share`` of the council's purchases ``trad_units`` is cut by ``wind_rate`` of it
    (a share of every contract); a contract at expiry (``block_end`` <= ``t``) is, with
    ``renew``, right-sized (to what the council wants of the market's volume before the cut)
    at the council's rate ``fee`` for ``duration`` weeks, else ended.  Returns the rows of
    the contracts that expired."""
    n = active.size
    rows = np.empty(n, dtype=np.int64)
    market = np.empty(n, dtype=np.int64)
    n_r = 0
    volume = np.zeros(n_markets)
    for e in range(n):
        if active[e] and block_volume[e] > 0:
            m = council[e] * N_TYPES + ptype[provider[e]]
            rows[n_r] = e
            market[n_r] = m
            n_r += 1
            volume[m] += block_volume[e]
    cut = np.zeros(n_markets)
    right = np.zeros(n_markets)
    for m in range(n_markets):
        if volume[m] > 0:
            wanted = block_share * trad_units[m]
            cut[m] = _maximum(volume[m] - wanted, 0.0) / volume[m]
            right[m] = _minimum(1.0, wanted / volume[m])
    expiring = np.empty(n_r, dtype=np.int64)
    n_x = 0
    for j in range(n_r):
        e = rows[j]
        block_volume[e] *= 1.0 - wind_rate * cut[market[j]]
        if block_end[e] <= t:
            expiring[n_x] = e
            n_x += 1
            if renew:
                block_volume[e] *= right[market[j]]
                block_price[e] = fee[council[e], ptype[provider[e]]]
                block_end[e] = t + duration
            else:
                block_volume[e] = 0.0
    return expiring[:n_x].copy()


@kernel
def count_flag(council, route, flag, n_c):
    """People (route not GONE) with ``flag`` set, per council."""
    out = np.zeros(n_c, dtype=np.int64)
    for i in range(route.size):
        if flag[i] and route[i] < GONE:
            out[council[i]] += 1
    return out



@kernel
def _hours_at(level, fit, cost, cap, s):
    """Hours of an option at which its marginal utility, fit x exp(-h / s) - cost, falls to
    ``level`` (within [0, cap]; all of the cap if it never does)."""
    den = level + cost
    return cap if den <= 0.0 else min(max(s * np.log(max(fit, 1e-9) / den), 0.0), cap)


@kernel
def _diminishing_fill(need, options, f, price, sens, cap, satiation, out):
    """Hours of each of ``options`` covering ``need`` hours/week when an option's value per
    hour falls with use: the marginal utility of option o at h hours is
    f[o] exp(-h / s) - sens x price[o] (s = ``satiation`` x need), and the person takes each
    option until its marginal utility falls to a common level (or its cap ``cap[o]``), the
    level set so the hours add up to the need.  Cheap, well-fitting options are used most, but
    no option takes everything while another still adds more: people mix, and the mix moves
    with prices.  Adds the hours to ``out``; an option with an unlimited cap among ``options``
    guarantees the need is covered.

    The level is found by Newton's method on the hours' total (a smooth, falling function of
    the level between its kinks), kept inside a bracket that it narrows, with a bisection step
    whenever Newton's would leave the bracket: a handful of steps where bisection took 60."""
    if need <= 0.0:
        return
    s = satiation * need
    k = options.size
    lo = 1e300
    hi = -1e300
    for j in range(k):
        o = options[j]
        if cap[o] <= 0.0:
            continue
        lo = min(lo, -sens * price[o])
        hi = max(hi, f[o])
    if hi == -1e300:
        return
    # total(lo) > need >= total(hi): the level lies in [lo, hi].
    lo += 1e-12
    hi = max(hi, lo + 1e-9)
    level = 0.5 * (lo + hi)
    total = 0.0
    for _ in range(100):
        total = 0.0
        slope = 0.0
        for j in range(k):
            o = options[j]
            if cap[o] <= 0.0:
                continue
            h = _hours_at(level, f[o], sens * price[o], cap[o], s)
            total += h
            if 0.0 < h < cap[o]:
                slope -= s / (level + sens * price[o])
        gap = total - need
        if abs(gap) <= 1e-12 * need:
            break
        if gap > 0.0:
            lo = level
        else:
            hi = level
        step = level - gap / slope if slope < 0.0 else lo - 1.0
        nxt = step if lo < step < hi else 0.5 * (lo + hi)
        if nxt == level or hi - lo <= 1e-15 * max(abs(level), 1.0):
            break
        level = nxt
    add = np.zeros(out.size)
    total = 0.0
    for j in range(k):
        o = options[j]
        if cap[o] <= 0.0:
            continue
        h = _hours_at(level, f[o], sens * price[o], cap[o], s)
        add[o] = h
        total += h
    if total > need:
        # Within rounding of the need: scale the hours down to it exactly.
        for o in range(out.size):
            add[o] *= need / total
    # Otherwise a sliver may be left unallocated: the cheapest option with room takes it.
    rest = need - total
    if rest > 0.0:
        best = -1
        for j in range(k):
            o = options[j]
            if cap[o] - add[o] >= rest and (best < 0 or price[o] < price[best]):
                best = o
        if best >= 0:
            add[best] += rest
    for o in range(out.size):
        out[o] += add[o]


@kernel
def _mix_cost(out, prices, agency_factor, pa_factor, threshold):
    """£/week of a mix of hours at ``prices`` (intensive agency/PA hours take more staff)."""
    cost = 0.0
    for o in range(N_OPTIONS):
        units = out[o]
        if o == AGENCY:
            units = _units(out[o], agency_factor, threshold)
        elif o == PA:
            units = _units(out[o], pa_factor, threshold)
        cost += units * prices[o]
    return cost


@kernel
def compose_mix(rows, route, assessed, pc_share, plan_quality, brokered, council, fit, carer,
                available, informal, same_household, budget, spot_price, block_price, mix,
                c_trad_own, c_wanted, c_bought, price_sensitivity, fit_threshold, satiation,
                community_max_hours, pa_max_hours, pa_needs_dp, family_rate, replace_resident,
                replace_other, paid_extra_share, family_rule, agency_factor, pa_factor,
                threshold, unlimited):
    """Each of ``rows``' weekly mix of care hours (into ``mix``) and its costs (into
    ``c_*``), by the rules documented in ``planning.compose_mix``; ``family_rule`` 0 = none,
    1 = non-resident, 2 = any."""
    pc_opts = np.array([AGENCY, PA, FAMILY])
    soc_opts = np.array([DAY, PA, COMMUNITY, FAMILY])
    prices = np.empty(N_OPTIONS)
    f = np.empty(N_OPTIONS)
    cap = np.empty(N_OPTIONS)
    out = np.empty(N_OPTIONS)
    trad = np.empty(N_OPTIONS)
    for i in range(rows.size):
        row = rows[i]
        r, c, h = route[row], council[row], assessed[row]
        h_pc = h * pc_share[row]
        pb = _holds_pb(r)
        for o in range(N_OPTIONS):
            out[o] = 0.0
            trad[o] = 0.0
        trad[AGENCY] = h_pc
        trad[DAY] = h - h_pc
        if pb:  # spot prices, but a managed PB buys through the council's contracts
            for o in range(N_MARKET_OPTIONS):
                prices[o] = spot_price[c, o]
            if r == MPB:
                prices[AGENCY] = block_price[c, AGENCY]
                prices[DAY] = block_price[c, DAY]
            k = carer[row]
            share = 0.0
            if k >= 0:
                share = replace_resident if same_household[k] else replace_other
            # Paying a carer who already gives care unpaid buys some of those hours again:
            # per hour added, the family rate is paid for 1 / (1 - replaced share) hours.
            prices[FAMILY] = family_rate / max(1.0 - share, 1e-6)
            q = plan_quality[row]
            ref = max(prices[AGENCY], 1e-9)
            for o in range(N_OPTIONS):
                # What the person knows of an option's fit: a plan reveals it, without one
                # every option looks average.
                f[o] = q * fit[o, row] + (1.0 - q) * 0.5
                cap[o] = unlimited
            known = q > 0.0 or brokered[row]
            allowed = k >= 0 and r == DP and family_rule != 0
            if allowed and family_rule == 1:
                allowed = not same_household[k]
            cap[FAMILY] = (max(available[k] - informal[k], 0.0) * paid_extra_share
                           if allowed else 0.0)
            cap[COMMUNITY] = community_max_hours if known else 0.0
            pa_ok = (r == DP or not pa_needs_dp) and known
            cap[PA] = pa_max_hours if pa_ok else 0.0
            for o in range(N_OPTIONS):  # options must fit; agency and day care are the fallback
                if o != AGENCY and o != DAY and not f[o] >= fit_threshold:
                    cap[o] = 0.0
            rel = np.empty(N_OPTIONS)
            for o in range(N_OPTIONS):
                rel[o] = prices[o] / ref
            _diminishing_fill(h_pc, pc_opts, f, rel, price_sensitivity, cap, satiation, out)
            for o in range(N_OPTIONS):
                cap[o] = max(cap[o] - out[o], 0.0)
            _diminishing_fill(h - h_pc, soc_opts, f, rel, price_sensitivity, cap, satiation, out)
            # A personal budget buys no more than it holds: cut the mix to the budget.
            wanted = _mix_cost(out, prices, agency_factor, pa_factor, threshold)
            scale = budget[row] / max(wanted, 1e-9) if wanted > budget[row] else 1.0
            for o in range(N_OPTIONS):
                out[o] = out[o] * scale
            c_trad_own[row] = _mix_cost(trad, prices, agency_factor, pa_factor, threshold)
            c_wanted[row] = wanted
            c_bought[row] = wanted * scale
        elif r < RES:
            for o in range(N_OPTIONS):
                out[o] = trad[o]
        for o in range(N_OPTIONS):
            mix[o, row] = out[o]
