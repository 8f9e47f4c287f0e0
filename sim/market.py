"""The market: buyers' demand meets provider capacity (``clear``), and the weekly purchase
phase that turns people's mixes into demand, clears every market and books what was bought.

Why compiled: each week every (council, service type) market is cleared at once over the
provider-council service edges, so a national run with tens of thousands of providers costs a
few passes instead of a Python loop over buyers; the passes' arithmetic is in ``sim.kernels``
(``clear_blocks``, ``spot_rounds``, ``spot_sales``, ``council_purchases``, ``provider_sales``,
``care_home_sales``, ...), a handful of calls a week instead of dozens of small numpy ones
(a council's market has ~1,000 edges, so each numpy call cost more than its arithmetic).

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
    COMMUNITY,
    DAY,
    DP,
    MPB,
    N_MARKET_OPTIONS,
    N_TYPES,
    PA,
    RESIDENTIAL,
    SELF,
)
from .week import Column, Phase, Week

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
    return passes.capacity_share(edge_provider=edge_provider, last_units=last_units,
                                 n_providers=n_providers, spread=spread)


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
    # --- block contracts: the council calls off its contracted volume pro rata; what they
    # leave (demand and capacity) goes to the spot market.
    (alloc, edge_block, edge_block_pay, p_e, block_del, block_pay, idle, overflow, demand, left,
     free) = passes.clear_blocks(edge_market=edge_market, edge_provider=edge_provider,
                                 capacity=capacity, price=price, block_volume=block_volume,
                                 block_price=block_price, block_guarantee=block_guarantee,
                                 block_demand=block_demand, spot_demand=spot_demand,
                                 reserve=reserve, n_markets=n_markets)
    # --- spot market.
    edge_spot, asked = passes.spot_rounds(edge_market=edge_market, edge_provider=edge_provider,
                                          edge_share=edge_share, edge_price=p_e, free=free,
                                          left=left, beta=beta, n_markets=n_markets,
                                          rounds=ROUNDS)
    edge_spot_pay, edge_asked, spot_del, spot_price = passes.spot_sales(
        edge_market=edge_market, edge_spot=edge_spot, edge_price=p_e, alloc=alloc, asked=asked,
        n_markets=n_markets)
    return Clearing(block_del, block_pay, idle, overflow, demand, spot_del, spot_price,
                    edge_block, edge_block_pay, edge_spot, edge_spot_pay, edge_asked)


def purchase(model, week: Week):
    """DP transfers, market clearing, payments for care delivered, residential fees."""
    u, p, e, C = model.users, model.providers, model.edges, model.council
    ledger = week.ledger
    n_c, n_m = C.n, C.n * N_TYPES
    # One fused pass over all rows: demand per (council, buyer, option), residents per
    # council and per care home, and direct payments paid into accounts.
    m = model.cfg.market
    demand, residents, occ, transfers = passes.demand_and_transfers(
        users=u, n_councils=n_c, n_providers=p.capacity.size, market=m)
    ledger.dp_transfers += transfers
    # The council buys traditional packages and managed PBs (through its contracts); direct
    # payments and self-funders buy at spot prices.  Council-funded residents are the
    # council's purchases of beds in its council.
    block_demand, spot_demand, C.trad_units = passes.market_demand(demand=demand,
                                                                   residents=residents)

    p.capacity_cleared[:] = p.capacity
    # The hour markets' edges (care homes' beds are not cleared here: ``care_homes``).
    ed, prov, edge_market = passes.market_edges(edges=e, providers=p)
    share = capacity_share(prov, e.block_hours[ed] + e.spot_hours[ed], p.capacity.size,
                           model.cfg.market.spread_share)
    cl = clear(n_m, edge_market, prov, share, p.capacity * p.active, p.price, e.block_volume[ed],
               e.block_price[ed], model.cfg.council.block_guarantee, block_demand, spot_demand,
               model.cfg.market.price_choice_beta, reserve=model.cfg.market.staff_contracted)
    # Fill ratio and price per (council, buyer, option): spot buyers at the market's fill and
    # average price; the council's purchases (block call-off, then overflow at spot) for
    # traditional packages (paid by the council, not the person) and managed PBs (paid from
    # the budget at the council's cost per unit delivered).  Guaranteed-but-unused block
    # hours stay a cost of the traditional side; the managed PBs' share of the council's
    # purchases is booked as their spend, the rest as traditional spend (so the council's
    # total is what providers received).
    fill_tab, pay_tab, trad, council_paid = passes.council_purchases(
        clearing=cl, block_demand=block_demand, demand=demand)
    by_route = passes.deliver_and_pay(users=u, fill=fill_tab, pay=pay_tab, n_councils=n_c,
                                      market=m)
    trad_block, trad_idle, trad_spot, trad_agency = trad
    ledger.spend_trad_block += trad_block
    ledger.spend_trad_idle += trad_idle         # of which for guaranteed hours nobody used
    ledger.spend_trad_spot += trad_spot
    ledger.spend_trad_agency += trad_agency     # of both, for home care (agency hours)
    ledger.spend_managed_pb += by_route[:, MPB]
    ledger.dp_purchases += by_route[:, DP]
    ledger.self_spend += by_route[:, SELF]

    # Providers' receipts per provider (seller side) and per edge, plus care homes' fees.
    delivered, block_units, block_rev, revenue, received = passes.provider_sales(
        clearing=cl, rows=ed, edges=e, providers=p, n_councils=n_c)
    fees = care_homes(model, week, occ, revenue, block_rev, delivered, block_units)
    passes.care_home_edges(edges=e, providers=p, fees=fees, by_council=received)
    ledger.provider_revenue += received
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
    council_paid = council_paid.reshape(n_c, N_TYPES)
    with np.errstate(invalid="ignore", divide="ignore"):
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
    p, C, ledger = model.providers, model.council, week.ledger
    homes = np.flatnonzero(p.active & (p.ptype == RESIDENTIAL))
    fee = C.block_price[:, RESIDENTIAL]
    occ_self, contributions, spend_downs = charge_residents(model, homes, fee[p.home[homes]],
                                                            occ[homes])
    # Per home: fees and beds into the sales, occupied beds, beds asked of it (its residents,
    # and this week's people who sought a place in its council and found none, shared over
    # the council's homes by beds).  Per council: beds, occupancy, mean fee by payer, mean
    # list price weighted by beds (NaN without beds or residents), fees by payer.
    fees, (beds, occupancy, fee_council, fee_self, list_price, fee_c, fee_s) = \
        passes.care_home_sales(providers=p, occupied_council=occ, occupied_self=occ_self,
                               fee_by_council=fee, unplaced=week.unplaced,
                               sales=(revenue, block_rev, delivered, block_units))
    ledger.spend_residential += fee_c - contributions
    ledger.self_spend += fee_s + contributions
    model.spot_price_ct[:, RESIDENTIAL] = np.where(np.isnan(list_price),
                                                   model.spot_price_ct[:, RESIDENTIAL], list_price)
    week.put("care_home_beds", beds)
    week.put("care_home_occupancy", occupancy)
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
    return passes.hhi(groups=groups, revenue=revenue, n=n)
