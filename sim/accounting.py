"""Money: who pays whom each week, booked once, on both sides.

Buyers' payments are computed from each buyer's delivered units times the market price;
sellers' receipts from each edge's units times its provider's price.  The clearing makes the
two equal, and the invariant test checks that they stay equal over whole runs, so council
spend can always be traced to providers, personal assistants, family carers, planning and
brokerage staff, and money left in direct-payment accounts.
"""

from __future__ import annotations

import numpy as np

from . import passes
from .codes import DP, MPB, TRAD
from .week import Column, Phase, Week, rate

LEDGER_FIELDS = (
    "spend_trad_block", "spend_trad_idle", "spend_trad_spot", "spend_trad_agency",
    "spend_managed_pb",
    "dp_transfers", "clawback",
    "spend_residential", "spend_planning", "spend_brokerage", "spend_other_services",
    "dp_purchases", "dp_family", "self_spend", "provider_revenue", "family_received",
)


class Ledger:
    """One week's money flows per council (£)."""

    def __init__(self, n):
        for f in LEDGER_FIELDS:
            setattr(self, f, np.zeros(n))

    @property
    def council_net_spend(self):
        return (self.spend_trad_block + self.spend_trad_spot + self.spend_managed_pb
                + self.dp_transfers - self.clawback + self.spend_residential
                + self.spend_planning + self.spend_brokerage)


def pay_family(model, ledger: Ledger, users, pay):
    """Family carers are paid from direct payments (the payment rule is applied when the mix
    is composed)."""
    u, n_c = model.users, model.council.n
    u.dp_balance[users] -= pay
    u.spend[users] += pay
    ledger.dp_family += np.bincount(u.council[users], pay, n_c)
    ledger.family_received += np.bincount(u.council[users], pay, n_c)


def staff_costs(model, week: Week):
    """Planning and brokerage staff are paid whether busy or not; so is the spend on what the
    model does not simulate (``council.other_services_per_user_week``: an input, the same
    every week, outside ``council_net_spend`` so no budget or decision sees it)."""
    cc, C, ledger = model.cfg.council, model.council, week.ledger
    ledger.spend_planning += C.planning_staff * cc.planner_cost_per_week
    ledger.spend_brokerage += C.brokers * cc.broker_cost_per_week
    ledger.spend_other_services += C.other_services_week


def clawback(model, week: Week):
    """Every ``policy.clawback_interval_weeks``, recover unspent direct payments above the
    buffer of ``policy.clawback_buffer_weeks`` of budget."""
    u, pol = model.users, model.cfg.policy
    if week.t % pol.clawback_interval_weeks:
        return
    rows = np.flatnonzero(u.active & (u.route == DP))
    keep = pol.clawback_buffer_weeks * u.budget[rows]
    _recover(model, week.ledger, rows, np.maximum(u.dp_balance[rows] - keep, 0.0))


def return_balances(model, ledger: Ledger, rows):
    """People leaving a direct payment return its whole balance (an overdrawn account is
    written off: a negative return)."""
    dp = rows[model.users.route[rows] == DP]
    if dp.size:
        _recover(model, ledger, dp, model.users.dp_balance[dp].copy())


def _recover(model, ledger: Ledger, rows, back):
    u = model.users
    u.dp_balance[rows] -= back
    u.cum_council[rows] -= back
    ledger.clawback += np.bincount(u.council[rows], back, model.council.n)


def package_costs(model, week: Week):
    """Accumulate each PB holder's package cost and the traditional cost of the same need,
    from which each person's saving is measured."""
    cc = model.cfg.council
    passes.package_costs(users=model.users,
                         broker_fee=cc.broker_cost_per_week / max(cc.brokerage_caseload, 1),
                         block_price=model.council.block_price, market=model.cfg.market)


def accounts(model, week: Week):
    """Close the week's books: clawback booked, running totals, and the money columns.

    Unspent direct payments recovered this week are booked against the week's spend only as
    far as that spend goes; the rest is carried to the following weeks
    (``CouncilState.clawback_carry``), so a large quarterly clawback never makes a week's net
    spend negative.  Money is conserved: recovered = booked + carried."""
    ledger, T, S, C = week.ledger, model.totals, week.census, model.council
    gross = ledger.council_net_spend + ledger.clawback
    available = ledger.clawback + C.clawback_carry
    ledger.clawback = np.minimum(available, np.maximum(gross, 0.0))
    C.clawback_carry = available - ledger.clawback
    T["council_net_spend"] += ledger.council_net_spend.sum()
    T["provider_revenue"] += ledger.provider_revenue.sum()
    T["family_received"] += ledger.family_received.sum()
    T["self_spend"] += ledger.self_spend.sum()
    T["planning"] += ledger.spend_planning.sum()
    T["brokerage"] += ledger.spend_brokerage.sum()
    T["other_services"] += ledger.spend_other_services.sum()
    T["entries"] += int(week.entries.sum())
    T["exits"] += int(week.exits.sum())
    n = S["count"].astype(np.int64)
    n_trad, n_pb = n[:, TRAD], n[:, DP] + n[:, MPB]
    spend_trad = ledger.spend_trad_block + ledger.spend_trad_spot
    spend_dp = ledger.dp_transfers - ledger.clawback
    spend_pb = spend_dp + ledger.spend_managed_pb
    for name, values in (
            ("spend_traditional", spend_trad),
            ("spend_traditional_idle_block", ledger.spend_trad_idle),
            ("spend_traditional_spot", ledger.spend_trad_spot),
            ("spend_traditional_home_care", ledger.spend_trad_agency),
            ("spend_traditional_day_care", spend_trad - ledger.spend_trad_agency),
            ("spend_direct_payment", spend_dp),
            ("spend_managed_pb", ledger.spend_managed_pb),
            ("spend_residential", ledger.spend_residential),
            ("spend_planning", ledger.spend_planning),
            ("spend_brokerage", ledger.spend_brokerage),
            ("spend_other_services", ledger.spend_other_services),
            ("clawback", ledger.clawback),
            ("spend_total", ledger.council_net_spend),
            ("spend_self_funders", ledger.self_spend),
            ("family_pay", ledger.family_received),
            ("cost_pb_per_user_week", rate(spend_pb, n_pb)),
            ("cost_traditional_per_user_week", rate(spend_trad, n_trad))):
        week.put(name, values)


STAFF_COSTS = Phase("staff_costs", staff_costs,
                    reads="planning and brokerage staff (FTE); the spend on unsimulated lines",
                    writes="their pay and that spend (ledger)")
CLAWBACK = Phase("clawback", clawback, reads="direct-payment balances and budgets",
                 writes="balances above the buffer returned to the council (ledger)")
PACKAGE_COSTS = Phase(
    "package_costs", package_costs,
    reads="PB holders' spend, brokerage, assessed need; council block prices",
    writes="each PB holder's running package cost and traditional-equivalent cost")
_MONEY = "£/week"
ACCOUNTS = Phase(
    "accounts", accounts, reads="the week's ledger, head counts (census), entries and exits",
    writes="the run's running totals",
    columns=(
        Column("spend_traditional", _MONEY, "council spend on traditional packages (block and "
               "spot, idle block hours included)"),
        Column("spend_traditional_idle_block", _MONEY,
               "of which paid for guaranteed block hours nobody used"),
        Column("spend_traditional_spot", _MONEY, "of which bought at list prices, beyond the "
               "block contracts"),
        Column("spend_traditional_home_care", _MONEY, "of which for home care (agency hours; "
               "the rest is day care)"),
        Column("spend_traditional_day_care", _MONEY, "of which for day care (the rest)"),
        Column("spend_direct_payment", _MONEY, "direct payments paid out, net of clawback"),
        Column("spend_managed_pb", _MONEY, "care bought for managed PBs"),
        Column("spend_residential", _MONEY, "care-home fees of council-funded residents, net of "
               "their contributions (income and tariff income)"),
        Column("spend_planning", _MONEY, "support planners' pay"),
        Column("spend_brokerage", _MONEY, "brokers' and advocates' pay"),
        Column("spend_other_services", _MONEY, "spend on what the model does not simulate "
               "(an input: council.other_services_per_user_week x council-funded people at the "
               "start; not in spend_total)"),
        Column("clawback", _MONEY, "unspent direct payments recovered"),
        Column("spend_total", _MONEY, "council net spend (all of the above but "
               "spend_other_services, net of clawback)"),
        Column("spend_self_funders", _MONEY, "what people paid for their own care: self-funders "
               "at home and in care homes, and council-funded residents' contributions"),
        Column("family_pay", _MONEY, "paid to family carers from direct payments"),
        Column("cost_pb_per_user_week", _MONEY, "PB spend per PB holder", scale=False),
        Column("cost_traditional_per_user_week", _MONEY,
               "traditional spend per traditional-package holder", scale=False),
    ))

