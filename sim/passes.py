"""The compiled per-row passes, each behind one keyword-only wrapper.

Every call of a kernel in ``sim.kernels`` goes through exactly one function here, so a
kernel's long positional argument list is written once, in one place, next to the kernel's
signature; callers (phases and tests) name what they pass, grouped as whole tables and
configuration sections, so two swapped numbers cannot go unnoticed.  Units: hours are care
hours per week, money is £ (per week unless said otherwise), ``t`` is the week's step.

Arguments named after a table (``users``, ``carers``) are the ``sim.state`` tables; ``market``,
``behaviour``, ``carer_cfg`` are configuration sections (``sim.config``).
"""

from __future__ import annotations

import numpy as np

from .codes import AGENCY, DAY, N_MARKET_OPTIONS, PA
from .compiled import K

#: ``policy.family_pay_rule`` as the compose kernel's code.
FAMILY_RULES = ("none", "non_resident", "any")
UNLIMITED = 1e6  # hours/week: an option with no cap (finite so cumulative sums stay exact)


def _intensive(market) -> tuple[float, float, float]:
    """Agency and PA staff factors for intensive hours, and the hours/week above which they
    apply (billable units = hours + (factor - 1) x hours above the threshold)."""
    return market.agency_intensive_factor, market.pa_intensive_factor, market.intensive_threshold


def staff_units(*, mix: np.ndarray, market) -> np.ndarray:
    """Billable units per market option, ``(4, n)``, for care hours ``mix`` (``(k >= 4, n)``,
    hours/week): intensive agency and PA hours take more staff (double-up, waking nights)."""
    return K.staff_units(np.ascontiguousarray(mix[:N_MARKET_OPTIONS], dtype=np.float64), *_intensive(market))


def demand_and_transfers(*, users, n_councils: int, n_providers: int, market):
    """Demand in billable units per (council, buyer side, market option); council-funded
    residents per council and per care home (provider row); direct payments paid into accounts this week
    (added to ``users.dp_balance``), £ per council."""
    u = users
    return K.demand_and_transfers(u.mix, u.route, u.council, u.budget, u.dp_balance,
                                  u.main_provider, n_councils, n_providers, *_intensive(market))


def deliver_and_pay(*, users, fill: np.ndarray, pay: np.ndarray, n_councils: int, market):
    """Hours delivered (into ``users.delivered``) and £ each person pays (``users.spend``,
    debited from direct-payment balances), given per (council, buyer, option) ``fill`` ratios
    and ``pay`` (£ per billable unit asked, fill included).  Returns £ per (council, route)."""
    u = users
    return K.deliver_and_pay(u.mix, u.route, u.council, fill, pay, u.delivered, u.spend,
                             u.dp_balance, n_councils, *_intensive(market))


def _burden_args(behaviour, market) -> tuple:
    b = behaviour
    return (b.admin_dp_hours, b.admin_mpb_hours, b.admin_per_pa, market.pa_hours,
            b.unplanned_burden_mult, b.manage_hours, b.carer_help_hours, b.broker_help_hours)


def expected_burden(*, route, plan_quality, pa_used, capability, spare, brokered, behaviour,
                    market) -> np.ndarray:
    """Administrative burden (0-1) each person would bear on ``route`` (codes) with a plan of
    quality ``plan_quality``, ``pa_used`` hours/week of personal assistants, ``spare`` hours of
    a family carer (0 without one) and brokerage (``brokered``): ``kernels._burden``."""
    n = np.size(capability)       # route, plan quality, ... may be one for all

    def arr(x, dt=np.float64):
        x = np.asarray(x)
        return np.full(n, x, dtype=dt) if x.ndim == 0 else np.ascontiguousarray(x, dtype=dt)
    return K.expected_burden(arr(route, np.int8), arr(plan_quality), arr(pa_used),
                             arr(capability), arr(spare), arr(brokered, np.bool_),
                             *_burden_args(behaviour, market))


def _value_args(behaviour, market) -> tuple:
    """The weights and burden terms of ``kernels._route_value``, in its order."""
    b = behaviour
    return (b.control_traditional, b.control_managed, b.control_dp, b.w_control,
            b.dp_admin_burden, *_burden_args(behaviour, market))


def offer_choice(*, rows: np.ndarray, users, carers, expect_broker: np.ndarray,
                 push: np.ndarray, g_dp: np.ndarray, g_mpb: np.ndarray, g_trad: np.ndarray,
                 allow_trad: bool, behaviour, market) -> np.ndarray:
    """Route codes chosen by ``rows`` offered a PB (``kernels.offer_choice``): ``push`` is
    the council's persuasion less the cost of changing, per row; ``g_*`` each option's Gumbel
    taste per row; ``expect_broker`` whether each expects brokerage."""
    u, b = users, behaviour
    return K.offer_choice(u.capability[rows], u.carer[rows], carers.available, carers.informal,
                          u.autonomy[rows], np.ascontiguousarray(expect_broker, dtype=np.bool_),
                          np.ascontiguousarray(push, dtype=np.float64), g_dp, g_mpb, g_trad,
                          bool(allow_trad), float(b.choice_scale),
                          *_value_args(behaviour, market))


def reconsider_choice(*, rows: np.ndarray, users, carers, g_now: np.ndarray, g_mpb: np.ndarray,
                      g_trad: np.ndarray, behaviour, market) -> np.ndarray:
    """The route each PB holder of ``rows`` moves to at a review, or -1 to stay
    (``kernels.reconsider_choice``); ``g_*`` each option's Gumbel taste per row."""
    u, b = users, behaviour
    return K.reconsider_choice(u.route[rows], u.plan_quality[rows], u.delivered[PA, rows],
                               u.capability[rows], u.carer[rows], carers.available,
                               carers.informal, u.brokered[rows], u.autonomy[rows], u.met[rows],
                               g_now, g_mpb, g_trad, float(b.choice_scale), float(b.status_quo),
                               float(b.w_met), *_value_args(behaviour, market))


def _per_row(x, rows: np.ndarray, dtype) -> np.ndarray:
    """``x`` (one value per row of ``rows``, or one for all) as a contiguous array of
    ``dtype`` (``np.broadcast_to`` costs more than a week's conversions)."""
    x = np.asarray(x)
    return (np.full(rows.size, x, dtype=dtype) if x.ndim == 0
            else np.ascontiguousarray(x, dtype=dtype))


def convert_rows(*, rows: np.ndarray, route, plan_quality, t: int, users, n_councils: int):
    """Users ``rows`` moved to a personal budget of ``route`` (codes) after a plan of quality
    ``plan_quality`` (0: none), one per row or one for all: ``kernels.convert_rows``.  Returns
    per council the weeks waited and the conversions, in all and after a plan."""
    u = users
    return K.convert_rows(np.ascontiguousarray(rows, dtype=np.int64), _per_row(route, rows, np.int8),
                          _per_row(plan_quality, rows, np.float64),
                          int(t), u.council, u.queue_since, u.qol, u.choice, u.qol_before,
                          u.choice_before, u.route, u.plan_quality, u.in_queue,
                          u.planning_until, u.wants_route, u.converted_step, u.review_step,
                          u.cum_pb_cost, u.cum_trad_equiv, u.cum_trad_own, u.cum_wanted,
                          u.cum_bought, u.cum_spend, u.cum_broker, u.cum_council, n_councils)


def outcomes(*, users, carers, t: int, behaviour, market, window: bool, n_councils: int):
    """Need met, quality of life and choice of every community user (into ``users.met``,
    ``qol``, ``choice``), added to their effect-window sums when ``window``; returns sums per
    (council, route) of people, need (hours/week), unmet need (hours/week), quality of life,
    choice, admin burden, packages holding home care and day care, and agency hours delivered,
    as a ``(9, councils, routes)`` array."""
    u, c, b = users, carers, behaviour
    return K.outcomes(u.delivered, u.mix, u.fit, u.need, u.route, u.council, u.carer, c.available,
                      c.informal, u.brokered, u.plan_quality, u.autonomy, u.capability,
                      u.disrupted_until, t, b.w_met, b.w_fit, b.w_control,
                      b.disruption_penalty, b.control_traditional, b.control_managed,
                      b.control_dp, b.dp_admin_burden, b.unplanned_burden_mult,
                      b.admin_dp_hours, b.admin_mpb_hours, b.admin_per_pa, market.pa_hours,
                      b.manage_hours, b.carer_help_hours, b.broker_help_hours,
                      b.choice_control_weight, b.burden_aversion, b.variety_bonus,
                      b.variety_options, u.met, u.qol, u.choice, bool(window), u.win_qol,
                      u.win_choice, u.win_unmet, u.win_need, u.win_weeks,
                      n_councils)


def exits_and_need(*, users, t: int, drift: np.ndarray, hazard: np.ndarray, shock_size: float,
                   residential_mult: float, residential_threshold: float):
    """Exit hazard accumulated (``hazard`` per group per week, ``residential_mult`` times it in
    a care home) and need progression (``drift`` per group per week, a ``shock_size`` step
    for those whose shock week has come); returns the rows leaving this week, the rows
    shocked, and the community users staying whose total need is above
    ``residential_threshold`` hours/week."""
    u = users
    return K.exits_and_need(u.route, u.group, u.total_need, u.informal, u.need, u.exit_clock,
                            u.hazard, u.shock_step, t, drift, hazard, shock_size,
                            residential_mult, residential_threshold)


def family_pass(*, carers, users, carer_cfg, n_councils: int, strain_rate: float | None = None):
    """Family carers' week: hours added and replaced, £ paid, strain (moving ``strain_rate``
    of the way to its settled level; default the configured rate).  Returns £ paid per carer
    row, the carer rows above the burnout threshold, and per council (carers, total strain,
    paid)."""
    c, u, cc = carers, users, carer_cfg
    rate = cc.strain_rate if strain_rate is None else strain_rate
    return K.family_pass(c.active, c.user, c.available, c.informal, c.strain, c.strain_offset,
                         c.paid, c.replaced, c.cum_received, u.mix, u.delivered,
                         c.same_household, cc.paid_extra_share, cc.family_rate,
                         cc.replace_share_resident, cc.replace_share_other, cc.payment_relief,
                         rate, cc.strain_base, cc.strain_load, cc.strain_recovery_load,
                         cc.respite_relief, cc.respite_hours, cc.burnout_threshold, u.council,
                         n_councils)


def rollout_scan(*, users, n_councils: int):
    """People per (council, route), brokered people per council, and the queued rows."""
    u = users
    return K.rollout_scan(u.council, u.route, u.in_queue, u.brokered, n_councils)


def due_for_review(*, users, cutoff: int) -> np.ndarray:
    """Rows of people last reviewed at or before week ``cutoff``."""
    return K.due_for_review(users.route, users.review_step, cutoff)


def residents_per_home(*, users, n_providers: int) -> np.ndarray:
    """Occupied beds per provider row."""
    return K.residents_per_home(users.route, users.main_provider, n_providers)


def package_costs(*, users, broker_fee: float, block_price: np.ndarray, market) -> None:
    """Add each PB holder's week to their running totals (``kernels.package_costs``): package
    cost (support + ``broker_fee`` £/week if brokered), the traditional cost of the same
    assessed need at the council's ``block_price`` (£/unit per (council, type)), the saving's
    parts and the council's cost."""
    u = users
    ag, _pa, thr = _intensive(market)
    K.package_costs(u.route, u.council, u.spend, u.budget, u.brokered, u.assessed, u.pc_share,
                    u.c_trad_own, u.c_wanted, u.c_bought, u.cum_pb_cost, u.cum_trad_equiv,
                    u.cum_trad_own, u.cum_wanted, u.cum_bought, u.cum_spend, u.cum_broker,
                    u.cum_council, broker_fee,
                    np.ascontiguousarray(block_price[:, AGENCY]),
                    np.ascontiguousarray(block_price[:, DAY]), ag, thr)


def traditional_cost(*, hours: np.ndarray, pc_share: np.ndarray, council: np.ndarray,
                     block_price: np.ndarray, agency_factor: float, market) -> np.ndarray:
    """£/week a council pays under block contracts for ``hours`` of need per person: agency
    care for the personal-care share (``agency_factor`` for intensive hours), day care for
    the rest."""
    return K.traditional_cost(np.asarray(hours, dtype=float), pc_share, council,
                              np.ascontiguousarray(block_price[:, AGENCY]),
                              np.ascontiguousarray(block_price[:, DAY]), agency_factor,
                              market.intensive_threshold)


def users_of(*, users, gone: np.ndarray) -> np.ndarray:
    """Rows of users whose main provider is flagged in ``gone`` (a provider-row mask)."""
    return K.users_of(users.main_provider, users.route, gone)


def spot_rounds(*, edge_market, edge_provider, edge_share, edge_price, free, left,
                beta: float, n_markets: int, rounds: int):
    """The spot market's allocation rounds (see ``market.clear``); updates ``free`` (units per
    provider) and ``left`` (units per market); returns units per edge and units asked."""
    return K.spot_rounds(edge_market, edge_provider, edge_share, edge_price, free, left,
                         float(beta), n_markets, rounds)


def market_edges(*, edges, providers):
    """The edges of the hour markets (active, not care homes'), in row order: their rows
    (int64), providers and markets (council x N_TYPES + provider type; both int32)."""
    return K.market_edges(edges.active, edges.provider, edges.council, providers.ptype)


def capacity_share(*, edge_provider: np.ndarray, last_units: np.ndarray, n_providers: int,
                   spread: float) -> np.ndarray:
    """Share of its capacity a provider offers on each edge (``market.capacity_share``), from
    its edges' units delivered last week ``last_units``."""
    return K.capacity_share(edge_provider, last_units, int(n_providers), float(spread))


def clear_blocks(*, edge_market, edge_provider, capacity, price, block_volume, block_price,
                 block_guarantee: float, block_demand, spot_demand, reserve: bool,
                 n_markets: int):
    """The block call-off of ``market.clear`` (``kernels.clear_blocks``): per edge units called
    off, delivered, £ paid, its provider's price; per market units delivered, £ paid, of it
    for guaranteed units unused, overflow, spot demand with it (twice: the record and the
    spot rounds' units left); per provider capacity free (units/week)."""
    return K.clear_blocks(edge_market, edge_provider, capacity, price, block_volume, block_price,
                          float(block_guarantee), block_demand, spot_demand, bool(reserve),
                          int(n_markets))


def spot_sales(*, edge_market, edge_spot, edge_price, alloc, asked, n_markets: int):
    """Spot £ per edge, units asked of each edge (block ``alloc`` + first-round ``asked``), and
    per market spot units delivered and their average price (NaN: none)."""
    return K.spot_sales(edge_market, edge_spot, edge_price, alloc, asked, int(n_markets))


def market_demand(*, demand: np.ndarray, residents: np.ndarray):
    """Per (council, type) market: the council's demand, the spot buyers' (units/week, from
    ``demand`` per (council, buyer, option)) and the council's purchases (council-funded
    ``residents`` for care homes)."""
    return K.market_demand(demand, residents)


def council_purchases(*, clearing, block_demand: np.ndarray, demand: np.ndarray):
    """Fill ratios and £ per unit asked per (council, buyer, option); per council the
    traditional spend on blocks, of it idle, on spot, on home care (a ``(4, councils)``
    array); the council's price per unit delivered per market (NaN: none):
    ``kernels.council_purchases``."""
    cl = clearing
    return K.council_purchases(cl.block_delivered, cl.block_pay, cl.block_idle_pay, cl.overflow,
                               cl.spot_demand, cl.spot_delivered, cl.spot_price, block_demand,
                               demand)


def provider_sales(*, clearing, rows: np.ndarray, edges, providers, n_councils: int):
    """The hour markets' week written to the edges ``rows`` (the others' revenue set to 0) and
    units asked of each provider (``providers.asked``); returns per provider units delivered,
    block units, block £, £ in all, and per council £ providers received."""
    cl, e = clearing, edges
    return K.provider_sales(rows, e.provider, e.council, cl.edge_asked, cl.edge_block,
                            cl.edge_block_pay, cl.edge_spot, cl.edge_spot_pay, e.block_hours,
                            e.block_pay, e.spot_hours, e.revenue, providers.asked,
                            int(n_councils))


def care_home_sales(*, providers, occupied_council, occupied_self, fee_by_council, unplaced,
                    sales: tuple):
    """Care homes' fees and beds added to ``sales`` (per provider: revenue, block revenue,
    units delivered, block units) and set as ``providers.occupied``/``asked``; returns fees
    per provider row and per council (beds, occupancy, mean fee per council-funded resident
    and per self-funder, mean list price; NaN without a denominator; £ of fees by payer):
    ``kernels.care_home_sales``."""
    p = providers
    revenue, block_rev, delivered, block_units = sales
    return K.care_home_sales(p.active, p.ptype, p.home, p.capacity, p.price, occupied_council,
                             occupied_self, np.ascontiguousarray(fee_by_council), unplaced,
                             revenue, block_rev, delivered, block_units, p.occupied, p.asked)


def care_home_edges(*, edges, providers, fees: np.ndarray, by_council: np.ndarray) -> None:
    """Care homes' ``fees`` as their edges' revenue, added to ``by_council`` (£ providers
    received per council)."""
    e = edges
    K.care_home_edges(e.active, e.provider, e.council, providers.ptype, fees, e.revenue,
                      by_council)


def hhi(*, groups: np.ndarray, revenue: np.ndarray, n: int) -> np.ndarray:
    """Herfindahl-Hirschman index (0-10,000) of ``revenue`` shares within each of ``n``
    groups."""
    return K.hhi(groups, revenue, int(n))


def manage_blocks(*, edges, providers, trad_units: np.ndarray, fee: np.ndarray, council_cfg,
                  wind_rate: float, t: int, renew: bool, n_markets: int) -> np.ndarray:
    """Block contracts wound down, renewed or ended (``kernels.manage_blocks``); returns the
    rows of those that expired this week."""
    e = edges
    return K.manage_blocks(e.active, e.council, e.provider, providers.ptype, e.block_volume,
                           e.block_price, e.block_end, trad_units, fee,
                           float(council_cfg.block_share), float(wind_rate), int(t),
                           int(council_cfg.block_duration_weeks), bool(renew), int(n_markets))


def count_flag(*, council, route, flag, n_councils: int) -> np.ndarray:
    """People (live rows) with ``flag`` set, per council."""
    return K.count_flag(council, route, flag, n_councils)


def compose_mix(*, rows, users, carers, spot_price, block_price, cfg) -> None:
    """Each of ``rows``' weekly mix of care hours (into ``users.mix``) and its costs at the
    person's prices (``users.c_trad_own``, ``c_wanted``, ``c_bought``), by the rules in
    ``planning.compose_mix``; prices are £ per billable unit per (council, type)."""
    u, c, b, m, cc = users, carers, cfg.behaviour, cfg.market, cfg.carers
    rows = np.ascontiguousarray(rows, dtype=np.int64)   # carers' rows come as int32
    K.compose_mix(
        rows, u.route, u.assessed, u.pc_share, u.plan_quality, u.brokered, u.council,
        u.fit, u.carer, c.available, c.informal, c.same_household, u.budget, spot_price,
        block_price, u.mix, u.c_trad_own, u.c_wanted, u.c_bought, b.price_sensitivity,
        b.fit_threshold, b.mix_satiation, b.community_max_hours, b.pa_max_hours,
        cfg.policy.pa_needs_direct_payment, cc.family_rate, cc.replace_share_resident,
        cc.replace_share_other, cc.paid_extra_share,
        FAMILY_RULES.index(cfg.policy.family_pay_rule), *_intensive(m), UNLIMITED)


def crn_uniform(*, uid: np.ndarray, weeks, key: np.ndarray) -> np.ndarray:
    """Common random numbers (``sim.crn.uniform``): one uniform per person ``uid`` (int64) for
    the week(s) ``weeks`` (an int, or one int per uid) and the stream key ``key`` (uint64,
    shape (1,))."""
    uid = np.ascontiguousarray(uid, dtype=np.int64)
    weeks = (np.array((weeks,), dtype=np.int64) if isinstance(weeks, (int, np.integer))
             else np.ascontiguousarray(np.atleast_1d(weeks), dtype=np.int64))
    if weeks.size not in (1, uid.size):
        raise ValueError(f"crn: {weeks.size} weeks for {uid.size} people")
    return K.crn_uniform(uid, weeks, key)


def main_provider(*, rows: np.ndarray, users, draws: np.ndarray, index: tuple) -> None:
    """Each of ``rows``' main provider (into ``users.main_provider``): one uniform ``draws[j]``
    per row picks, weighted by capacity, a provider of their council's market for the option
    with most hours in their mix (``index``: ``providers.ProviderIndex.get``);
    ``kernels.main_provider``."""
    prov, cum, lo, hi, base, top = index
    K.main_provider(np.ascontiguousarray(rows, dtype=np.int64), users.mix, users.council,
                    np.ascontiguousarray(draws, dtype=np.float64),
                    np.ascontiguousarray(prov, dtype=np.int32), cum,
                    np.ascontiguousarray(lo, dtype=np.int64), np.ascontiguousarray(hi, dtype=np.int64),
                    base, top, users.main_provider)


def weekly_costs(*, ptype, capacity, units, unit_labour, overhead, fixed_share: float):
    """£/week each provider row pays (``kernels.weekly_costs``: labour, a fixed share of it on
    staffed ``capacity`` and the rest per unit of ``units`` delivered, at ``unit_labour`` £ a
    unit, plus ``overhead``); arrays broadcast to one value per row."""
    n = np.broadcast(ptype, capacity, units, unit_labour, overhead).shape

    def arr(x, dt=np.float64):
        x = np.asarray(x, dtype=dt)
        return (np.ascontiguousarray(x) if x.shape == n
                else np.ascontiguousarray(np.broadcast_to(x, n)))
    return K.weekly_costs(arr(ptype, np.int8), arr(capacity), arr(units), arr(unit_labour),
                          arr(overhead), float(fixed_share))


def allocate_staff(*, pool: np.ndarray, pay: np.ndarray, want: np.ndarray,
                   free: np.ndarray) -> np.ndarray:
    """Staff hours each provider gets from its ``pool`` (index into ``free``, hours of workers
    free), paying ``pay`` £/hour and wanting ``want`` hours: ``kernels.allocate_staff``."""
    return K.allocate_staff(np.ascontiguousarray(pool, dtype=np.int64),
                            np.ascontiguousarray(pay, dtype=np.float64),
                            np.ascontiguousarray(want, dtype=np.float64),
                            np.ascontiguousarray(free, dtype=np.float64))


def provider_costs(*, act: np.ndarray, providers, sales, edges, wage: np.ndarray,
                   labour_per_unit: np.ndarray, recruit_ahead: np.ndarray, guarantee: float,
                   market):
    """The providers' week before their staffing (``kernels.provider_costs``): each of the
    active rows ``act``'s cost (£) at this week's ``sales`` before recruitment, and its staffed
    capacity (units/week); ``providers.delivered_ema`` and ``posts`` updated.  ``wage`` is the
    local wage per council (£/hour), ``labour_per_unit`` staff hours per unit and
    ``recruit_ahead`` the posts opened ahead of leavers (share), both by provider type;
    ``guarantee`` is ``council.block_guarantee``, the share of a block contract's volume
    (``edges``) paid for whether used or not."""
    p, e, m = providers, edges, market
    return K.provider_costs(
        np.ascontiguousarray(act, dtype=np.int64), p.ptype, p.home, p.capacity, p.overhead,
        p.own_wage, p.delivered_ema, p.staffed, p.posts, sales.delivered, wage, e.active,
        e.provider, e.block_volume, e.block_hours, float(guarantee), bool(m.staff_contracted),
        labour_per_unit, float(m.on_cost), float(m.labour_fixed_share),
        float(m.demand_smoothing), float(m.capacity_slack), recruit_ahead,
        float(m.staff_adjust))


def staffing(*, act: np.ndarray, providers, wage: np.ndarray, labour_pool: np.ndarray,
             pa_pool: np.ndarray, labour_per_unit: np.ndarray, turnover: np.ndarray, market,
             n_councils: int):
    """One week of the workforce of the active rows ``act`` (``kernels.staffing``; their
    posts set): ``providers.staffed`` and ``capacity`` updated.  ``wage``, ``labour_pool``,
    ``pa_pool`` are per council (£/hour, staff hours/week); ``labour_per_unit`` (staff hours
    per unit) and ``turnover`` (leavers per year / staff) by provider type.  Returns each
    provider's recruitment cost (£), vacant and wanted staff hours per council x type
    (flat), and per council staff hours leaving and in post before, hours hired and
    recruitment cost (£)."""
    p, m = providers, market
    return K.staffing(np.ascontiguousarray(act, dtype=np.int64), p.ptype, p.home, p.price,
                      p.own_wage, p.staffed, p.posts, p.capacity, wage, labour_pool, pa_pool,
                      labour_per_unit, turnover, float(m.on_cost),
                      float(m.turnover_pay_sensitivity), float(m.vacancy_fill_rate),
                      float(m.worker_hours), float(m.recruit_cost), int(n_councils))


def provider_books(*, act: np.ndarray, providers, capacity: np.ndarray, cost: np.ndarray,
                   sales, wage: np.ndarray, block_price: np.ndarray,
                   labour_per_unit: np.ndarray, turnover: np.ndarray, t: int, market):
    """The providers' week after their staffing (``kernels.provider_books``): the active
    rows ``act``'s ``sales`` and ``cost`` (£, recruitment included) into their books, their
    smoothed margins, unit costs and list prices (columns of ``providers``).  ``capacity`` is
    their staffed capacity this week (before this week's staffing), ``wage`` the local wage
    per council (£/hour), ``block_price`` the councils' rates (£/unit, council x type);
    ``labour_per_unit`` and ``turnover`` by provider type.  Returns the rows losing money
    and whether each of ``act`` is insolvent, in week ``t`` (``market.exit_grace_weeks``,
    ``handback_margin``, ``overdraft_weeks``, ``exit_margin``)."""
    p, s, m = providers, sales, market
    return K.provider_books(
        np.ascontiguousarray(act, dtype=np.int64), p.ptype, p.home, capacity,
        np.ascontiguousarray(cost, dtype=np.float64), s.delivered, s.revenue, s.block,
        s.block_units, p.delivered, p.revenue, p.block_revenue, p.cost, p.cash,
        p.cum_revenue, p.cum_cost, p.margin_ema, p.unit_cost, p.overhead, p.own_wage, wage,
        p.asked, p.built, p.price, block_price, labour_per_unit, turnover, float(m.on_cost),
        float(m.labour_fixed_share), float(m.margin_smoothing), float(m.target_utilisation),
        float(m.worker_hours), float(m.recruit_cost), float(m.price_adjust),
        float(m.price_step_max), bool(m.price_on_built), float(m.markup),
        float(m.recovery_cap), int(t), p.entered_step, p.tolerance, float(m.exit_grace_weeks),
        float(m.handback_margin), float(m.overdraft_weeks), float(m.exit_margin))


def means_test(*, users, providers, fee_by_council: np.ndarray, users_cfg, council_cfg,
               n_councils: int):
    """Care-home residents' means test of the week (``kernels.means_test``): capital and routes
    updated in place; returns self-funders per home, tariff income (£) per council and
    self-funders switched to council funding per council."""
    u, p, cc = users, providers, council_cfg
    return K.means_test(u.capital, u.main_provider, u.route, u.council, p.price, p.home,
                        np.ascontiguousarray(fee_by_council, dtype=np.float64),
                        float(users_cfg.care_home_income), float(cc.capital_upper),
                        float(cc.capital_lower), float(cc.tariff_step), n_councils,
                        p.capacity.size)


def tariff_income(*, capital: np.ndarray, council_cfg) -> np.ndarray:
    """£/week of tariff income for each capital (£): ``kernels._tariff``."""
    return K.tariff_income(np.ascontiguousarray(capital, dtype=np.float64),
                           float(council_cfg.capital_lower), float(council_cfg.tariff_step))
