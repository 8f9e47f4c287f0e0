"""The market: buyers' demand meets provider capacity (``clear``), and the weekly purchase
phase that turns people's mixes into demand, clears every market and books what was bought.

Why vectorised: each week every (council, service type) market is cleared at once with
``bincount`` over provider-council service edges, so a national run with tens of thousands
of providers costs a few array passes instead of a Python loop over buyers.

Block contracts are served first (the council's guaranteed volume); the rest of the council's
demand (traditional packages and managed PBs), plus all direct-payment and self-funder demand,
goes to the spot market,
where each edge attracts demand in proportion to the free capacity its provider offers in that
market (``capacity_share``: a provider serving several councils splits its staff between them)
times a logit weight on its price relative to the market's mean.  Demand a provider cannot take spills to
the others in up to ``ROUNDS`` rounds; what is left is unmet.  All buyers in a market get the
same fill ratio and pay the market's average price, so money paid equals money received.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import passes
from .codes import (
    AGENCY,
    BUY_COUNCIL_MPB,
    BUY_COUNCIL_TRAD,
    BUY_SPOT,
    COMMUNITY,
    DAY,
    DP,
    MPB,
    N_BUYERS,
    N_MARKET_OPTIONS,
    N_TYPES,
    PA,
    RESIDENTIAL,
    SELF,
)
from .week import Column, Phase, Week, rate

SHARE = "share (0-1)"

ROUNDS = 4


@dataclass
class Clearing:
    """Result of one week's clearing, per market (council*n_types + type) and per edge."""

    block_delivered: np.ndarray   # per market, units
    block_pay: np.ndarray         # per market, £ paid by councils for block contracts
    block_idle_pay: np.ndarray    # per market, the part of block_pay for guaranteed hours unused
    overflow: np.ndarray          # per market, council demand not covered by blocks (to spot)
    spot_demand: np.ndarray       # per market, all spot demand incl. overflow
    spot_delivered: np.ndarray    # per market
    spot_price: np.ndarray        # per market, average £/unit paid on the spot market (nan if none)
    edge_block: np.ndarray        # per edge, block units delivered
    edge_block_pay: np.ndarray    # per edge, £
    edge_spot: np.ndarray         # per edge, spot units delivered
    edge_spot_pay: np.ndarray     # per edge, £
    edge_asked: np.ndarray        # per edge, units asked of it (block call-off + first spot round)

    @property
    def spot_fill(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.spot_demand > 0, self.spot_delivered / self.spot_demand, 1.0)


def capacity_share(edge_provider, last_units, n_providers, spread) -> np.ndarray:
    """Share of its capacity a provider offers in each market it serves (per edge, summing to 1
    over a provider's edges): ``spread`` of it evenly over every market it serves, the rest in
    proportion to what it delivered there last week (its staff and rounds are where its
    clients are).  A provider serving several councils is one pool of staff, not a full pool in
    each of them."""
    k = np.bincount(edge_provider, minlength=n_providers)[edge_provider]
    even = 1.0 / np.maximum(k, 1)
    total = np.bincount(edge_provider, last_units, n_providers)[edge_provider]
    with np.errstate(invalid="ignore", divide="ignore"):
        busy = np.where(total > 0, last_units / total, even)
    return (1.0 - spread) * busy + spread * even


def clear(n_markets, edge_market, edge_provider, edge_share, capacity, price, block_volume,
          block_price, block_guarantee, block_demand, spot_demand, beta,
          reserve=False) -> Clearing:
    """Clear all markets for one week.

    ``edge_*`` arrays describe active provider-council edges (``edge_share``: the share of its
    free capacity the provider offers on that edge, ``capacity_share``); ``capacity`` and
    ``price`` are per provider (indexed by ``edge_provider``); ``block_demand``/``spot_demand``
    per market.  With ``reserve`` (``market.staff_contracted``) a provider keeps the hours its
    contracts pay for whether used or not (``block_guarantee`` of their volume) for its
    council, called off or not, and offers the spot market only its capacity beyond them.
    """
    n_prov = capacity.size
    # --- block contracts: the council calls off its contracted volume pro rata.
    vol_m = np.bincount(edge_market, block_volume, n_markets)
    with np.errstate(invalid="ignore", divide="ignore"):
        call = np.where(vol_m > 0, np.minimum(1.0, block_demand / vol_m), 0.0)
    alloc = block_volume * call[edge_market]
    req_p = np.bincount(edge_provider, alloc, n_prov)
    with np.errstate(invalid="ignore", divide="ignore"):
        f_p = np.where(req_p > capacity, capacity / req_p, 1.0)
    edge_block = alloc * f_p[edge_provider]
    edge_block_pay = block_price * np.maximum(edge_block, block_guarantee * block_volume)
    block_del = np.bincount(edge_market, edge_block, n_markets)
    overflow = np.maximum(block_demand - block_del, 0.0)
    held = np.maximum(edge_block, block_guarantee * block_volume) if reserve else edge_block
    free = np.maximum(capacity - np.bincount(edge_provider, held, n_prov), 0.0)

    # --- spot market.
    demand = spot_demand + overflow
    left = demand.copy()
    edge_spot = np.zeros(edge_market.size)
    p_e = price[edge_provider]
    edge_spot, asked = passes.spot_rounds(edge_market=edge_market, edge_provider=edge_provider,
                                          edge_share=edge_share, edge_price=p_e, free=free,
                                          left=left, beta=beta, n_markets=n_markets,
                                          rounds=ROUNDS)
    edge_asked = alloc + asked
    edge_spot_pay = edge_spot * p_e
    spot_del = np.bincount(edge_market, edge_spot, n_markets)
    spot_rev = np.bincount(edge_market, edge_spot_pay, n_markets)
    with np.errstate(invalid="ignore", divide="ignore"):
        spot_price = np.where(spot_del > 0, spot_rev / spot_del, np.nan)
    idle = np.bincount(edge_market, edge_block_pay - block_price * edge_block, n_markets)
    return Clearing(block_del, np.bincount(edge_market, edge_block_pay, n_markets), idle, overflow,
                    demand, spot_del, spot_price, edge_block, edge_block_pay, edge_spot,
                    edge_spot_pay, edge_asked)


def purchase(model, week: Week):
    """DP transfers, market clearing, payments for care delivered, residential fees."""
    u, p, e, C = model.users, model.providers, model.edges, model.council
    ledger, M = week.ledger, N_MARKET_OPTIONS
    n_c, n_m = C.n, C.n * N_TYPES
    # One fused pass over all rows: demand per (council, buyer, option), residents per
    # council and per care home, and direct payments paid into accounts.
    m = model.cfg.market
    demand, residents, occ, transfers = passes.demand_and_transfers(
        users=u, n_councils=n_c, n_providers=p.capacity.size, market=m)
    ledger.dp_transfers += transfers
    block = np.zeros((n_c, N_TYPES))
    spot = np.zeros((n_c, N_TYPES))
    # The council buys traditional packages and managed PBs (through its contracts); direct
    # payments and self-funders buy at spot prices.
    block[:, :M] = demand[:, BUY_COUNCIL_TRAD] + demand[:, BUY_COUNCIL_MPB]
    spot[:, :M] = demand[:, BUY_SPOT]
    block_demand, spot_demand = block.ravel(), spot.ravel()
    # Council-funded residents are a block demand for beds in their council.
    C.trad_units = block_demand.copy()
    C.trad_units[RESIDENTIAL::N_TYPES] = residents

    p.capacity_cleared[:] = p.capacity
    ed = np.flatnonzero(e.active & (p.ptype[e.provider] != RESIDENTIAL))
    prov = e.provider[ed]
    edge_market = e.council[ed] * N_TYPES + p.ptype[prov]
    share = capacity_share(prov, e.block_hours[ed] + e.spot_hours[ed], p.capacity.size,
                           model.cfg.market.spread_share)
    cl = clear(n_m, edge_market, prov, share, p.capacity * p.active, p.price, e.block_volume[ed],
               e.block_price[ed], model.cfg.council.block_guarantee, block_demand, spot_demand,
               model.cfg.market.price_choice_beta, reserve=model.cfg.market.staff_contracted)
    p.asked[:] = np.bincount(prov, cl.edge_asked, p.capacity.size)
    e.block_hours[ed] = cl.edge_block
    e.block_pay[ed] = cl.edge_block_pay
    e.spot_hours[ed] = cl.edge_spot
    price = np.where(np.isnan(cl.spot_price), 0.0, cl.spot_price)
    fill = cl.spot_fill
    # What the council's purchases (block call-off, then overflow at spot) delivered and cost per
    # unit; guaranteed-but-unused block hours stay a cost of the traditional side.
    council_units = cl.block_delivered + cl.overflow * fill
    used_block_pay = cl.block_pay - cl.block_idle_pay
    overflow_pay = cl.overflow * fill * price
    mpb_units = np.zeros((n_c, N_TYPES))
    mpb_units[:, :M] = demand[:, BUY_COUNCIL_MPB]
    mpb_units = mpb_units.ravel()
    with np.errstate(invalid="ignore", divide="ignore"):
        trad_fill = np.where(block_demand > 0, council_units / block_demand, 1.0)
        council_price = np.where(council_units > 0,
                                 (used_block_pay + overflow_pay) / council_units, 0.0)
        mpb_part = np.where(block_demand > 0, mpb_units / block_demand, 0.0)
    # Fill ratio and price per (council, buyer, option): spot buyers, the council for
    # traditional packages (paid by the council, not the person), the council for managed PBs
    # (paid from the budget at the council's cost per unit).
    fill_tab = np.empty((n_c, N_BUYERS, M))
    fill_tab[:, BUY_SPOT] = fill.reshape(n_c, N_TYPES)[:, :M]
    fill_tab[:, BUY_COUNCIL_TRAD] = fill_tab[:, BUY_COUNCIL_MPB] = \
        trad_fill.reshape(n_c, N_TYPES)[:, :M]
    pay_tab = fill_tab.copy()
    pay_tab[:, BUY_SPOT] *= price.reshape(n_c, N_TYPES)[:, :M]
    pay_tab[:, BUY_COUNCIL_TRAD] = 0.0
    pay_tab[:, BUY_COUNCIL_MPB] *= council_price.reshape(n_c, N_TYPES)[:, :M]
    by_route = passes.deliver_and_pay(users=u, fill=fill_tab, pay=pay_tab, n_councils=n_c,
                                      market=m)

    # The managed PBs' share of the council's purchases is booked as their spend, the rest as
    # traditional spend (so the council's total is what providers received).
    trad_block = (cl.block_pay - mpb_part * used_block_pay).reshape(n_c, N_TYPES)
    trad_spot = ((1 - mpb_part) * overflow_pay).reshape(n_c, N_TYPES)
    ledger.spend_trad_block += trad_block.sum(axis=1)
    # Of which paid for guaranteed hours nobody used.
    ledger.spend_trad_idle += cl.block_idle_pay.reshape(n_c, N_TYPES).sum(axis=1)
    ledger.spend_trad_spot += trad_spot.sum(axis=1)
    # Of which for home care (agency hours).
    ledger.spend_trad_agency += trad_block[:, AGENCY] + trad_spot[:, AGENCY]
    ledger.spend_managed_pb += by_route[:, MPB]
    ledger.dp_purchases += by_route[:, DP]
    ledger.self_spend += by_route[:, SELF]

    # Providers' receipts per provider (seller side), plus residential fees.
    delivered = np.bincount(prov, cl.edge_block + cl.edge_spot, p.capacity.size)
    block_units = np.bincount(prov, cl.edge_block, p.capacity.size)
    block_rev = np.bincount(prov, cl.edge_block_pay, p.capacity.size)
    revenue = block_rev + np.bincount(prov, cl.edge_spot_pay, p.capacity.size)
    e.revenue[:] = 0.0
    e.revenue[ed] = cl.edge_block_pay + cl.edge_spot_pay
    fees = care_homes(model, week, occ, revenue, block_rev, delivered, block_units)
    res_edges = np.flatnonzero(e.active & (p.ptype[e.provider] == RESIDENTIAL))
    e.revenue[res_edges] = fees[e.provider[res_edges]]
    ledger.provider_revenue += np.bincount(np.r_[e.council[ed], e.council[res_edges]],
                                           np.r_[cl.edge_block_pay + cl.edge_spot_pay,
                                                 fees[e.provider[res_edges]]], n_c)
    # (A care home's "spot" price is its council's mean list price, set by ``care_homes``.)
    model.spot_price_ct[:, :N_MARKET_OPTIONS] = np.where(
        np.isnan(cl.spot_price), model.spot_price_ct.ravel(),
        cl.spot_price).reshape(n_c, N_TYPES)[:, :N_MARKET_OPTIONS]
    week.clearing = cl
    week.sales = Sales(delivered=delivered, revenue=revenue, block=block_rev,
                       block_units=block_units)
    spot_price = cl.spot_price.reshape(n_c, N_TYPES)
    for name, option in SPOT_PRICE_COLUMNS.items():
        week.put(name, spot_price[:, option])
    # Prices by payer: councils pay their contract rates (and spot for what blocks do not
    # cover); direct-payment holders and self-funders pay list prices.  The self-funder premium
    # is what a private buyer pays per hour over the council, a share of the council's price.
    with np.errstate(invalid="ignore", divide="ignore"):
        council_paid = np.where(council_units > 0, council_price, np.nan).reshape(n_c, N_TYPES)
        premium = spot_price / council_paid - 1.0
    for o, name in ((AGENCY, "agency"), (DAY, "day")):
        week.put(f"price_council_{name}", council_paid[:, o])
        week.put(f"self_funder_premium_{name}", premium[:, o])


def care_homes(model, week: Week, occ, revenue, block_rev, delivered, block_units):
    """Care homes' week: the council pays its rate for its residents (``occ`` per provider
    row), self-funding residents pay the home's list price (never below that rate:
    ``providers.finances``); the means test runs their capital down and collects
    council-funded residents' contributions (``charge_residents``).  Adds the homes' sales to
    the per-provider arrays, books the money, sets the beds asked of each home and its
    council's mean list price (``spot_price_ct``), fills the care-home columns; returns each
    provider row's fees (£)."""
    p, C, ledger, n_c = model.providers, model.council, week.ledger, model.council.n
    homes = np.flatnonzero(p.active & (p.ptype == RESIDENTIAL))
    h = p.home[homes]
    cap, price, oc = p.capacity[homes], p.price[homes], occ[homes]
    rate_h = C.block_price[h, RESIDENTIAL]
    occ_self, contributions, spend_downs = charge_residents(model, homes, rate_h, oc)
    os_ = occ_self[homes]
    paid_c, paid_s = oc * rate_h, os_ * price
    # Per council, in one pass: beds, residents by payer, fees by payer, list price x beds.
    k = 6
    beds, n_c_res, n_s_res, fee_c, fee_s, listed = np.bincount(
        (h + n_c * np.arange(k)[:, None]).ravel(),
        np.concatenate([cap, oc, os_, paid_c, paid_s, price * cap]), k * n_c).reshape(k, n_c)
    fees = np.zeros(p.capacity.size)
    fees[homes] = paid_c + paid_s
    revenue[homes] += paid_c + paid_s
    block_rev[homes] += paid_c
    delivered[homes] += oc + os_
    block_units[homes] += oc
    p.occupied[homes] = oc + os_
    ledger.spend_residential += fee_c - contributions
    ledger.self_spend += fee_s + contributions
    # Beds asked of a care home: its residents, and this week's people who sought a place in
    # its council and found none (shared over the council's homes by beds).
    waiting = rate(week.unplaced, beds, empty=0.0)
    p.asked[homes] = oc + os_ + waiting[h] * cap
    list_price = rate(listed, beds)
    model.spot_price_ct[:, RESIDENTIAL] = np.where(np.isnan(list_price),
                                                   model.spot_price_ct[:, RESIDENTIAL], list_price)
    fee_council, fee_self = rate(fee_c, n_c_res), rate(fee_s, n_s_res)
    week.put("care_home_beds", beds)
    week.put("care_home_occupancy", rate(n_c_res + n_s_res, beds))
    week.put("care_home_fee_council", fee_council)
    week.put("care_home_fee_self_funder", fee_self)
    week.put("care_home_list_price", list_price)
    week.put("self_funder_premium_residential", fee_self / fee_council - 1.0)
    week.put("resident_contributions", contributions)
    week.put("care_home_spend_downs", spend_downs)
    return fees


def tariff_income(cfg, capital) -> np.ndarray:
    """£/week of tariff income: £1 for each ``council.tariff_step`` (or part of one) of
    capital above the lower limit (capital at or above the upper limit pays the full fee)."""
    return passes.tariff_income(capital=np.asarray(capital, dtype=float), council_cfg=cfg.council)


def charge_residents(model, homes, council_fee, occupied_council):
    """The week's means test of care-home residents; returns the self-funding residents of
    each provider row (before this week's switches), and, per council, £ council-funded
    residents contributed to the council and self-funding residents who became
    council-funded.

    A self-funding resident pays their home's list price from their income
    (``users.care_home_income``) and their capital; once the capital has fallen to the upper
    limit (``council.capital_upper``) the council funds them (from next week).  A
    council-funded resident contributes their income and their tariff income
    (``tariff_income``, paid from capital, which falls toward the lower limit) toward the
    council's fee, never more than it.  ``council_fee`` and ``occupied_council`` (its
    council-funded residents) are per home of ``homes`` (provider rows)."""
    cfg, u, p, C, n_c = model.cfg, model.users, model.providers, model.council, model.council.n
    income = cfg.users.care_home_income
    # Income: every council-funded resident's, up to the fee.
    contrib = np.bincount(p.home[homes], np.minimum(income, council_fee) * occupied_council, n_c)
    # Residents who came in as self-funders (capital above 0), in one pass.
    occupied_self, tariffs, funded = passes.means_test(
        users=u, providers=p, fee_by_council=C.block_price[:, RESIDENTIAL],
        users_cfg=cfg.users, council_cfg=cfg.council, n_councils=n_c)
    contrib = contrib + tariffs
    return occupied_self, contrib, funded


@dataclass
class Sales:
    """One week's sales per provider row."""

    delivered: np.ndarray   # units (beds for care homes)
    revenue: np.ndarray     # £, block and spot and care-home fees
    block: np.ndarray       # £ of it under block contracts (care-home fees included)
    block_units: np.ndarray  # units of it under block contracts (care-home beds included)


#: Time-series columns of the average spot price, by option.
SPOT_PRICE_COLUMNS = {"spot_price_agency": AGENCY, "spot_price_day": DAY, "price_pa": PA,
                      "price_community": COMMUNITY}
PURCHASE = Phase(
    "purchase", purchase,
    reads="people's mixes, routes and budgets; providers' capacity and prices; block contracts",
    writes="DP transfers and balances; hours delivered and each person's spend; the week's "
           "clearing and sales; spot prices (spot_price_ct); council purchases (trad_units)",
    columns=(*(Column(name, "£/unit", f"average {o} price paid on the spot market by direct-"
                      "payment holders and self-funders (list prices; NaN: none)", scale=False)
               for name, o in zip(SPOT_PRICE_COLUMNS, ("agency hour", "day-service hour",
                                                        "personal-assistant hour",
                                                        "community-activity hour"),
                                  strict=True)),
             *(Column(f"price_council_{o}", "£/hour", f"average price the council paid per {o} "
                      "hour delivered (block rates, plus spot for what blocks did not cover; "
                      "NaN: none bought)", scale=False) for o in ("agency", "day")),
             *(Column(f"self_funder_premium_{o}", "share", f"{o} list price over the council's "
                      "price per hour, minus 1 (NaN: either missing)", scale=False)
               for o in ("agency", "day")),
             Column("care_home_beds", "beds", "beds in care homes based in the council"),
             Column("care_home_occupancy", SHARE, "care-home residents (council-funded and "
                    "self-funding) / beds (NaN: no beds)", scale=False),
             Column("care_home_fee_council", "£/bed-week", "mean fee the council paid per "
                    "council-funded resident (its rate; before residents' contributions)",
                    scale=False),
             Column("care_home_fee_self_funder", "£/bed-week", "mean fee a self-funding "
                    "resident paid (the homes' list prices; NaN: none)", scale=False),
             Column("care_home_list_price", "£/bed-week", "care homes' mean list price, "
                    "weighted by beds", scale=False),
             Column("self_funder_premium_residential", "share", "self-funders' mean care-home "
                    "fee over the council's, minus 1 (NaN: either missing)", scale=False),
             Column("resident_contributions", "£/week", "council-funded residents' "
                    "contributions (income and tariff income), netted off spend_residential"),
             Column("care_home_spend_downs", "people", "self-funding residents whose capital "
                    "fell to the upper limit this week (council-funded from next week)")))



def hhi(groups, revenue, n):
    """Herfindahl-Hirschman index (0-10,000) of revenue shares within each group."""
    total = np.bincount(groups, revenue, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total[groups] > 0, revenue / total[groups], 0.0)
    return np.bincount(groups, share**2, n) * 10_000
