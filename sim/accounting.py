"""Money: who pays whom each week, booked once, on both sides.

Buyers' payments are computed from each buyer's delivered units times the market price;
sellers' receipts from each edge's units times its provider's price.  The clearing makes the
two equal, and the invariant test checks that they stay equal over whole runs, so council
spend can always be traced to providers, personal assistants, family carers, planning and
brokerage staff, and money left in direct-payment accounts.
"""

from __future__ import annotations

import numpy as np

from . import kernels
from .market import clear
from .state import AGENCY, DAY, DP, MPB, N_TYPES, RESIDENTIAL, SELF

LEDGER_FIELDS = (
    "spend_trad_block", "spend_trad_idle", "spend_trad_spot", "spend_managed_pb",
    "dp_transfers", "clawback",
    "spend_residential", "spend_planning", "spend_brokerage",
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


def purchase_care(model, ledger: Ledger):
    """Phase: DP transfers, market clearing, payments for care delivered, residential fees."""
    u, p, e, C = model.users, model.providers, model.edges, model.council
    n_c, n_m = C.n, C.n * N_TYPES
    # One fused pass over all rows (see kernels.py): demand per (council, buyer, option),
    # residents per council, and direct payments paid into accounts.
    m = model.cfg.market
    factors = (m.agency_intensive_factor, m.pa_intensive_factor, m.intensive_threshold)
    demand, residents, occ, transfers = kernels.demand_and_transfers(
        u.mix, u.route, u.council, u.budget, u.dp_balance, u.main_provider, n_c,
        p.capacity.size, *factors)
    ledger.dp_transfers += transfers
    block = np.zeros((n_c, N_TYPES))
    spot = np.zeros((n_c, N_TYPES))
    # The council buys traditional packages and managed PBs (through its contracts); direct
    # payments and self-funders buy at spot prices.
    block[:, :4], spot[:, :4] = demand[:, 1] + demand[:, 2], demand[:, 0]
    block_demand, spot_demand = block.ravel(), spot.ravel()
    # Council-funded residents are a block demand for beds in their council.
    model.last_trad_units = block_demand.copy()
    model.last_trad_units[RESIDENTIAL::N_TYPES] = residents

    p.capacity_cleared[:] = p.capacity
    ed = np.flatnonzero(e.active & (p.ptype[e.provider] != RESIDENTIAL))
    prov = e.provider[ed]
    edge_market = e.council[ed] * N_TYPES + p.ptype[prov]
    cl = clear(n_m, edge_market, prov, p.capacity * p.active, p.price, e.block_volume[ed],
               e.block_price[ed], model.cfg.council.block_guarantee, block_demand, spot_demand,
               model.cfg.market.price_choice_beta)
    p.asked[:] = np.bincount(prov, cl.edge_asked, p.capacity.size)
    e.block_hours[ed] = cl.edge_block
    e.spot_hours[ed] = cl.edge_spot
    price = np.nan_to_num(cl.spot_price)
    fill = cl.spot_fill
    # What the council's purchases (block call-off, then overflow at spot) delivered and cost per
    # unit; guaranteed-but-unused block hours stay a cost of the traditional side.
    council_units = cl.block_delivered + cl.overflow * fill
    used_block_pay = cl.block_pay - cl.block_idle_pay
    overflow_pay = cl.overflow * fill * price
    mpb_units = np.zeros((n_c, N_TYPES))
    mpb_units[:, :4] = demand[:, 2]
    mpb_units = mpb_units.ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        trad_fill = np.where(block_demand > 0, council_units / block_demand, 1.0)
        council_price = np.where(council_units > 0,
                                 (used_block_pay + overflow_pay) / council_units, 0.0)
        mpb_part = np.where(block_demand > 0, mpb_units / block_demand, 0.0)
    # Fill ratio and price per (council, buyer, option): spot buyers, the council for
    # traditional packages (paid by the council, not the person), the council for managed PBs
    # (paid from the budget at the council's cost per unit).
    fill_tab = np.empty((n_c, 3, 4))
    fill_tab[:, 0] = fill.reshape(n_c, N_TYPES)[:, :4]
    fill_tab[:, 1] = fill_tab[:, 2] = trad_fill.reshape(n_c, N_TYPES)[:, :4]
    pay_tab = fill_tab.copy()
    pay_tab[:, 0] *= price.reshape(n_c, N_TYPES)[:, :4]
    pay_tab[:, 1] = 0.0
    pay_tab[:, 2] *= council_price.reshape(n_c, N_TYPES)[:, :4]
    by_route = kernels.deliver_and_pay(u.mix, u.route, u.council, fill_tab, pay_tab, u.delivered,
                                       u.spend, u.dp_balance, n_c, *factors)

    # The managed PBs' share of the council's purchases is booked as their spend, the rest as
    # traditional spend (so the council's total is what providers received).
    ledger.spend_trad_block += (cl.block_pay - mpb_part * used_block_pay).reshape(
        n_c, N_TYPES).sum(axis=1)
    # Of which paid for guaranteed hours nobody used.
    ledger.spend_trad_idle += cl.block_idle_pay.reshape(n_c, N_TYPES).sum(axis=1)
    ledger.spend_trad_spot += ((1 - mpb_part) * overflow_pay).reshape(n_c, N_TYPES).sum(axis=1)
    ledger.spend_managed_pb += by_route[:, MPB]
    ledger.dp_purchases += by_route[:, DP]
    ledger.self_spend += by_route[:, SELF]

    # Providers' receipts per provider (seller side), plus residential fees.
    delivered = np.bincount(prov, cl.edge_block + cl.edge_spot, p.capacity.size)
    block_rev = np.bincount(prov, cl.edge_block_pay, p.capacity.size)
    revenue = block_rev + np.bincount(prov, cl.edge_spot_pay, p.capacity.size)
    e.revenue[:] = 0.0
    e.revenue[ed] = cl.edge_block_pay + cl.edge_spot_pay
    p.occupied[:] = occ
    fees = occ * p.price
    revenue += fees
    block_rev += fees
    delivered += occ
    live = np.flatnonzero(p.active)
    ledger.spend_residential += np.bincount(p.home[live], fees[live], n_c)
    res_edges = np.flatnonzero(e.active & (p.ptype[e.provider] == RESIDENTIAL))
    e.revenue[res_edges] = fees[e.provider[res_edges]]
    ledger.provider_revenue += np.bincount(np.r_[e.council[ed], e.council[res_edges]],
                                           np.r_[cl.edge_block_pay + cl.edge_spot_pay,
                                                 fees[e.provider[res_edges]]], n_c)
    model.spot_price_ct = np.where(np.isnan(cl.spot_price), model.spot_price_ct.ravel(),
                                   cl.spot_price).reshape(n_c, N_TYPES)
    return cl, delivered, revenue, block_rev


def pay_family(model, ledger, users, pay):
    """Family carers are paid from direct payments (the payment rule is applied when the mix
    is composed)."""
    u, n_c = model.users, model.council.n
    u.dp_balance[users] -= pay
    u.spend[users] += pay
    ledger.dp_family += np.bincount(u.council[users], pay, n_c)
    ledger.family_received += np.bincount(u.council[users], pay, n_c)


def staff_costs(model, ledger):
    """Planning and brokerage staff are paid whether busy or not."""
    cc, C = model.cfg.council, model.council
    ledger.spend_planning += C.planning_staff * cc.planner_cost_per_week
    ledger.spend_brokerage += C.brokers * cc.broker_cost_per_week


def clawback(model, ledger, rows=None):
    """Recover unspent direct payments above the buffer (all of it for ``rows`` leaving)."""
    u, pol = model.users, model.cfg.policy
    if rows is None:
        if model.steps_done % pol.clawback_interval_weeks:
            return
        rows = np.flatnonzero(u.active & (u.route == DP))
        keep = pol.clawback_buffer_weeks * u.budget[rows]
        back = np.maximum(u.dp_balance[rows] - keep, 0.0)
    else:
        # Leaving: the whole balance goes back; an overdrawn account is written off (< 0).
        back = u.dp_balance[rows].copy()
    u.dp_balance[rows] -= back
    ledger.clawback += np.bincount(u.council[rows], back, model.council.n)


def package_costs(model, ledger):
    """Accumulate each PB holder's package cost and the traditional cost of the same need,
    from which each person's saving is measured."""
    u, cc, m, bp = model.users, model.cfg.council, model.cfg.market, model.council.block_price
    kernels.package_costs(u.route, u.council, u.spend, u.brokered, u.assessed, u.pc_share,
                          u.cum_pb_cost, u.cum_trad_equiv,
                          cc.broker_cost_per_week / max(cc.brokerage_caseload, 1),
                          np.ascontiguousarray(bp[:, AGENCY]), np.ascontiguousarray(bp[:, DAY]),
                          m.agency_intensive_factor, m.intensive_threshold)
