"""Market clearing: the one place where demand for care hours meets provider capacity.

Why vectorised: each week every (council, service type) market is cleared at once with
``bincount`` over provider-council service edges, so a national run with tens of thousands
of providers costs a few array passes instead of a Python loop over buyers.

Block contracts are served first (the council's guaranteed volume); the rest of the council's
demand (traditional packages and managed PBs), plus all direct-payment and self-funder demand,
goes to the spot market,
where each edge attracts demand in proportion to its provider's free capacity times a logit
weight on its price relative to the market's mean.  Demand a provider cannot take spills to
the others in up to ``ROUNDS`` rounds; what is left is unmet.  All buyers in a market get the
same fill ratio and pay the market's average price, so money paid equals money received.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import kernels

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


def clear(n_markets, edge_market, edge_provider, capacity, price, block_volume, block_price,
          block_guarantee, block_demand, spot_demand, beta) -> Clearing:
    """Clear all markets for one week.

    ``edge_*`` arrays describe active provider-council edges; ``capacity`` and ``price`` are
    per provider (indexed by ``edge_provider``); ``block_demand``/``spot_demand`` per market.
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
    free = np.maximum(capacity - np.bincount(edge_provider, edge_block, n_prov), 0.0)

    # --- spot market.
    demand = spot_demand + overflow
    left = demand.copy()
    edge_spot = np.zeros(edge_market.size)
    p_e = price[edge_provider]
    edge_spot, asked = kernels.spot_rounds(edge_market, edge_provider, p_e, free, left,
                                           float(beta), n_markets, ROUNDS)
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


def hhi(groups, revenue, n):
    """Herfindahl-Hirschman index (0-10,000) of revenue shares within each group."""
    total = np.bincount(groups, revenue, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total[groups] > 0, revenue / total[groups], 0.0)
    return np.bincount(groups, share**2, n) * 10_000
