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

from .codes import AGENCY, DAY, N_MARKET_OPTIONS
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
    """Demand in billable units per (council, buyer side, market option); residents per
    council and per care home (provider row); direct payments paid into accounts this week
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


def outcomes(*, users, t: int, behaviour, control_tab, burden_tab, n_councils: int):
    """Need met, quality of life and choice of every community user (into ``users.met``,
    ``qol``, ``choice``); returns sums per (council, route) of people, need (hours/week),
    unmet need (hours/week), quality of life and choice, as a ``(5, councils, routes)`` array."""
    u, b = users, behaviour
    return K.outcomes(u.delivered, u.fit, u.need, u.route, u.council, u.carer, u.brokered,
                      u.planned, u.autonomy, u.disrupted_until, t, b.w_met, b.w_fit, b.w_control,
                      b.disruption_penalty, control_tab, burden_tab, b.choice_control_weight,
                      b.burden_aversion, b.variety_bonus, b.variety_options, u.met, u.qol,
                      u.choice, n_councils)


def exits_and_need(*, users, t: int, drift: np.ndarray, shock_size: float,
                   residential_threshold: float):
    """Need progression (``drift`` per group per week, a ``shock_size`` step for those whose
    shock week has come); returns the rows leaving this week, the rows shocked, and the
    community users staying whose total need is above ``residential_threshold`` hours/week."""
    u = users
    return K.exits_and_need(u.route, u.group, u.total_need, u.informal, u.need, u.exit_step,
                            u.shock_step, t, drift, shock_size, residential_threshold)


def family_pass(*, carers, users, carer_cfg, n_councils: int):
    """Family carers' week: paid hours, £ paid, strain.  Returns £ paid per carer row, the
    carer rows above the burnout threshold, and per council (carers, total strain, paid)."""
    c, u, cc = carers, users, carer_cfg
    return K.family_pass(c.active, c.user, c.available, c.informal, c.strain, c.paid,
                         c.cum_received, u.mix, u.delivered, cc.paid_extra_share, cc.family_rate,
                         cc.payment_relief, cc.strain_rate, cc.strain_recovery_load,
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
    """Add each PB holder's weekly package cost (support + ``broker_fee`` £/week if brokered)
    and the traditional cost of the same assessed need at the council's ``block_price``
    (£/unit per (council, type)) to their running totals."""
    u = users
    ag, _pa, thr = _intensive(market)
    K.package_costs(u.route, u.council, u.spend, u.brokered, u.assessed, u.pc_share,
                    u.cum_pb_cost, u.cum_trad_equiv, broker_fee,
                    np.ascontiguousarray(block_price[:, AGENCY]), np.ascontiguousarray(block_price[:, DAY]),
                    ag, thr)


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


def spot_rounds(*, edge_market, edge_provider, edge_price, free, left, beta: float,
                n_markets: int, rounds: int):
    """The spot market's allocation rounds (see ``market.clear``); updates ``free`` (units per
    provider) and ``left`` (units per market); returns units per edge and units asked."""
    return K.spot_rounds(edge_market, edge_provider, edge_price, free, left, float(beta),
                         n_markets, rounds)


def count_flag(*, council, route, flag, n_councils: int) -> np.ndarray:
    """People (live rows) with ``flag`` set, per council."""
    return K.count_flag(council, route, flag, n_councils)


def compose_mix(*, rows, users, carers, spot_price, block_price, cfg) -> None:
    """Each of ``rows``' weekly mix of care hours (into ``users.mix``), by the rules in
    ``planning.compose_mix``; prices are £ per billable unit per (council, type)."""
    u, c, b, m = users, carers, cfg.behaviour, cfg.market
    K.compose_mix(
        rows, u.route, u.assessed, u.pc_share, u.planned, u.rebuy_draw, u.brokered, u.council,
        u.fit, u.carer, c.available, c.informal, c.same_household, u.budget, spot_price,
        block_price, u.mix, b.unplanned_dp_rebuy, b.price_sensitivity, b.fit_threshold,
        b.community_max_hours, b.pa_max_hours, cfg.policy.pa_needs_direct_payment,
        cfg.carers.family_rate, cfg.carers.paid_extra_share,
        FAMILY_RULES.index(cfg.policy.family_pay_rule), *_intensive(m), UNLIMITED)
