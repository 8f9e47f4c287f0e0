"""Council state and council decisions: the target's path, block contracts, fees, budget and
eligibility (FACS bands).

Councils are few (1 to 152), so their state is a handful of short arrays; the ``Council``
Mesa agent is a view over one index of them.
"""

from __future__ import annotations

import csv
import functools

import networkx as nx
import numpy as np

from . import passes
from .codes import AGENCY, DAY, N_TYPES, RESIDENTIAL, WEEKS_PER_YEAR
from .config import BANDS, DATA_DIR, band_hours
from .labour import start_cost_floor
from .week import Column, Phase, Week


class CouncilState:
    """Per-council arrays (index = council code)."""

    def __init__(self, cfg, rng):
        g, cc, pol = cfg.geography, cfg.council, cfg.policy
        n = g.n_councils
        self.n = n
        data = named_councils(cfg)
        #: Council-funded care-home residents at the start (from data), or None: then
        #: ``users.residential_share`` of ``n_users0`` live in care homes (both payers).
        self.funded_residents0 = None
        if data is None:
            size = cc.n_users * rng.lognormal(-g.size_sigma**2 / 2, g.size_sigma, n) \
                if g.size_sigma else np.full(n, float(cc.n_users))
            self.n_users0 = np.maximum(np.round(size), 1).astype(np.int64)
            self.names = [cc.name] if n == 1 else [f"{cc.name} {i + 1:03d}" for i in range(n)]
            self.codes = [""] * n
            self.regions = [""] * n
        else:
            self.names, self.codes = list(data["name"]), list(data["gss_code"])
            self.regions = list(data["region"])
            res = np.round(data["funded_residents"]).astype(np.int64)
            self.n_users0 = np.maximum(np.round(data["community"]).astype(np.int64) + res, 1)
            self.funded_residents0 = np.minimum(res, self.n_users0 - 1)
        spread = (lambda s: rng.lognormal(-s**2 / 2, s, n) if s else np.ones(n))
        self.budget_factor = spread(g.budget_sigma)
        self.planning_staff = cc.planning_staff * spread(g.planning_sigma) * self.n_users0 / cc.n_users
        self.brokers = cc.brokers * spread(g.brokerage_sigma) * self.n_users0 / cc.n_users
        noise = rng.normal(0, g.uptake_sigma, n) if g.uptake_sigma else np.zeros(n)
        self.pb_start = np.clip(pol.pb_share_start + noise, 0, 1) if data is None \
            else data["pb_share"].copy()
        self.pb_target = np.full(n, pol.pb_target)
        self.rollout_weeks = pol.rollout_months * WEEKS_PER_YEAR / 12.0
        # The council's own commitment to the rollout (mean 1): how readily it offers PBs at
        # reviews, and how much of the push (policy.target_enforcement) it turns into pressure.
        self.commitment = spread(g.commitment_sigma)
        # Share of its council-funded people whose capital a care home's means test counts
        # (affluent councils more, deprived ones fewer).
        owner = rng.normal(0, g.owner_share_sd, n) if g.owner_share_sd else np.zeros(n)
        self.owner_share = np.clip(cfg.users.care_home_owner_share + owner, 0, 1)
        self.pressure = np.zeros(n)             # this week's (rollout phase; read by reviews)
        self.broker_free = np.zeros(n)          # brokerage places free (rollout phase)
        # Eligibility: the lowest FACS band funded, and its threshold of eligible need.
        self.band = np.full(n, BANDS.index(cc.eligibility_band))
        self.band_hours = np.asarray(band_hours(cc))
        self.threshold = self.band_hours[self.band]
        self.price_per_point = np.ones(n)       # £ per RAS point (set once the caseload exists)
        self.block_price = np.zeros((n, N_TYPES))
        self.block_price[:, AGENCY] = cc.block_price_agency
        self.block_price[:, DAY] = cc.block_price_day
        self.block_price[:, RESIDENTIAL] = cc.block_price_residential if data is None \
            else data["residential_fee"]
        # No provider signs a contract below its costs at the starting wage.
        self.block_price = np.maximum(self.block_price, start_cost_floor(cfg))
        self.budget_week = np.full(n, np.nan)   # £/week, set when the policy starts
        self.spend_sum = np.zeros(n)            # £ spent since the last budget round
        self.spend_weeks = 0                    # weeks since the last budget round
        # The council's purchases per (council, type) market in the latest week (units; beds
        # for care homes): what block contracts are sized against.  Set at start and by the
        # purchase phase.
        self.trad_units = np.zeros(n * N_TYPES)
        # Recovered direct payments not yet booked against spend (£; see accounting.accounts).
        self.clawback_carry = np.zeros(n)
        self.conv_wait_sum = np.zeros(n)
        self.conversions = np.zeros(n, dtype=np.int64)
        # The same for conversions after a support plan (quality > 0): the rest went without.
        self.conv_wait_sum_planned = np.zeros(n)
        self.conversions_planned = np.zeros(n, dtype=np.int64)
        self.burnouts_total = np.zeros(n, dtype=np.int64)
        # Geography: councils on a unit square, neighbours within a radius (networkx); named
        # councils: neighbours within their region.
        seed = int(rng.integers(2**31))
        self.graph = nx.random_geometric_graph(n, g.neighbour_radius, seed=seed) if data is None \
            else region_graph(self.regions, g.region_neighbours, np.random.default_rng(seed))
        cfg_c = cc
        # Spend on what the model does not simulate (£/week, fixed at the start; see
        # council.other_services_per_user_week).
        self.other_services_week = cc.other_services_per_user_week * self.n_users0
        self.max_in_planning = (self.planning_staff * cfg_c.planner_hours_per_week
                                / cfg_c.planner_hours_per_plan * cfg_c.planning_duration_weeks)
        self.broker_capacity = self.brokers * cfg_c.brokerage_caseload

    @property
    def region_names(self) -> list[str]:
        """The regions of the councils, in first-appearance order (empty if synthetic)."""
        return [r for r in dict.fromkeys(self.regions) if r]

    def target_share(self, t):
        """The target's path in policy week ``t``: linear from the starting share to the target
        over rollout_weeks (what councils are judged against, not what they achieve)."""
        frac = min(1.0, t / self.rollout_weeks) if self.rollout_weeks > 0 else 1.0
        return self.pb_start + (self.pb_target - self.pb_start) * frac

    def neighbours(self, c):
        return list(self.graph.neighbors(int(c)))


#: Columns of a councils file that hold counts (empty = not published).
_COUNTS = ("dp_pb_clients_31mar2010", "home_care_clients_31mar2010", "day_care_clients_31mar2010",
           "supported_resident_weeks_2009_10", "gross_cost_res_homecare_2009_10_k",
           "gross_cost_homecare_2009_10_k")
#: A count the source suppressed as "1 to 5" is taken as 3.
SUPPRESSED_COUNT = 3.0


@functools.cache
def read_councils(name: str) -> dict:
    """A councils file of ``sim/data`` (``england_councils_2009.csv``, described in
    ``england_councils_2009.md``) as columns (lists of text; counts as float arrays, NaN where
    the source published none), with the model's council sizes derived from it:

    * ``community``: council-funded people at home = people on a direct payment or personal
      budget + people receiving home care + people receiving day care at 31 March 2010 (RAP
      P2s).  In 2009-10 a person whose service came through a personal budget was counted
      only on the DP/PB line, so the three lines hardly overlap on PBs; someone with both home
      care and day care is counted twice (the model's traditional package holds both), so
      this is an upper bound on distinct people.  Meals alone are not a package of care
      hours in the model and are left out.
    * ``funded_residents``: council-supported care-home residents on average over 2009-10 =
      supported resident weeks / 52 (complete for all councils; the counts at 31 March 2010
      are missing for 28).
    * ``pb_share``: direct payment or personal budget holders / ``community``: the council's
      own share in the model's terms (its denominator is people with a package of care, not
      every community-based client of NI 130, so it is above the 13% to 17% national
      figures of Demos and ADASS for 2010; nationally 21%).
    * ``residential_fee``: £ per council-supported resident week = gross cost of
      residential and nursing care (gross cost of residential, nursing and home care minus
      that of home care, PSS-EX1 2009-10, all adult groups) / supported resident weeks: what
      the council pays a care home for a bed-week (nationally £685; its fee includes what the
      resident contributes, as the gross cost does).
    * Cells "1 to 5" (suppressed) count as 3; a missing cell takes the national ratio:
      day care missing (Essex) = home care x national day care / home care; DP/PB missing
      (City of London) = the national PB share of the rest; the residential fee missing
      (East Sussex) = the national fee.
    """
    with (DATA_DIR / name).open(newline="") as f:
        rows = list(csv.DictReader(f))
    out = {k: [r[k] for r in rows] for k in rows[0]}
    for k in _COUNTS:
        v = np.array([float(x) if x else np.nan for x in out[k]])
        sup = np.array([f"{k}=1-5" in r.get("suppressed", "") for r in rows])
        v[sup & np.isnan(v)] = SUPPRESSED_COUNT
        out[k] = v
    dp = out["dp_pb_clients_31mar2010"]
    home = out["home_care_clients_31mar2010"]
    day = out["day_care_clients_31mar2010"]
    ok = ~np.isnan(day)
    day = np.where(ok, day, home * day[ok].sum() / home[ok].sum())
    other = home + day
    ok = ~np.isnan(dp)
    share = dp[ok].sum() / (dp[ok].sum() + other[ok].sum())
    dp = np.where(ok, dp, other * share / (1 - share))
    out["community"] = dp + other
    out["pb_share"] = dp / out["community"]
    weeks = out["supported_resident_weeks_2009_10"]
    out["funded_residents"] = weeks / WEEKS_PER_YEAR
    res_k = out["gross_cost_res_homecare_2009_10_k"] - out["gross_cost_homecare_2009_10_k"]
    ok = ~np.isnan(res_k)
    out["residential_fee"] = np.where(ok, res_k, weeks * res_k[ok].sum() / weeks[ok].sum()) \
        * 1000.0 / weeks
    return out


def named_councils(cfg) -> dict | None:
    """The councils of ``geography.councils_file`` (``read_councils``) when
    ``geography.n_councils`` equals its number of rows; otherwise None (synthetic councils:
    small England-shaped runs such as ``geography.n_councils=6`` stay synthetic)."""
    g = cfg.geography
    if not g.councils_file:
        return None
    data = read_councils(g.councils_file)
    return data if len(data["name"]) == g.n_councils else None


def region_graph(regions: list[str], k: int, rng) -> nx.Graph:
    """Neighbours of named councils: within each region, the councils in random order on a
    ring, each joined to the ``k`` nearest on it (``k // 2`` each side; every other council
    of a region of ``k + 1`` or fewer).  The data hold no adjacency, so which councils of a
    region neighbour each other is random; no council neighbours one of another region."""
    graph = nx.Graph()
    graph.add_nodes_from(range(len(regions)))
    for r in dict.fromkeys(regions):
        members = [i for i, x in enumerate(regions) if x == r]
        members = [members[j] for j in rng.permutation(len(members))]
        m = len(members)
        if m <= k + 1:
            graph.add_edges_from((a, b) for i, a in enumerate(members) for b in members[i + 1:])
            continue
        for i, a in enumerate(members):
            for d in range(1, k // 2 + 1):
                graph.add_edge(a, members[(i + d) % m])
    return graph


def manage_blocks(model, week: Week):
    """Wind down surplus block volume; renew or end contracts at expiry.

    A block contract's volume beyond what the council still needs (``block_share`` of last
    week's council purchases, ``CouncilState.trad_units``) is cut at ``policy.block_wind_down``
    per year.  Until then the council pays the guaranteed share of it whether used or not.  A
    contract at expiry is renewed right-sized at the council's current rate (listed in
    ``week.renewed``: its provider may decline the renewal, ``providers.hand_back``) or ends.
    """
    cfg = model.cfg
    # Per (council, type) market, care homes' blocks too (wound down against the council's
    # residents): the surplus is cut, and expiring contracts are right-sized to what the
    # council wants of the market's volume before the cut.
    expiring = passes.manage_blocks(
        edges=model.edges, providers=model.providers, trad_units=model.council.trad_units,
        fee=model.council.block_price, council_cfg=cfg.council,
        wind_rate=min(1.0, cfg.policy.block_wind_down / WEEKS_PER_YEAR), t=week.t,
        renew=cfg.policy.renew_blocks, n_markets=model.council.n * N_TYPES)
    if expiring.size and cfg.policy.renew_blocks:
        week.renewed = expiring


def uplift_fees(model, week: Week):
    """Once a year councils raise their fee rates (care homes' by
    ``council.fee_uplift_residential`` more); running contracts keep their price."""
    if week.t % int(WEEKS_PER_YEAR) == 0:
        model.council.block_price *= 1 + model.cfg.council.fee_uplift
        model.council.block_price[:, RESIDENTIAL] *= 1 + model.cfg.council.fee_uplift_residential
        model.council.price_per_point *= 1 + model.cfg.council.fee_uplift


def budget_response(model, week: Week):
    """Councils compare their spend over each budget year (``council.eligibility_review_weeks``)
    with their budget, set when the policy starts at their average spend over the burn-in
    (times their budget factor and ``council.budget_headroom``).  At the end of a year over
    budget a council raises its eligibility by one FACS band (at most
    ``council.eligibility_band_max``); a year well under budget (``council.underspend_band``)
    lowers it again, never below where it started.  The band applies to entrants and at
    reviews."""
    C, cc = model.council, model.cfg.council
    spend = week.ledger.council_net_spend
    t = model.policy_week(week.t)
    if t == 1:
        # The run-rate when the policy starts: the burn-in's average (this week's without one).
        rate_now = C.spend_sum / C.spend_weeks if C.spend_weeks else spend
        C.budget_week = rate_now * C.budget_factor * (1 + cc.budget_headroom)
        C.spend_sum, C.spend_weeks = np.zeros(C.n), 0
    C.spend_sum = C.spend_sum + spend
    C.spend_weeks += 1
    if t >= 1 and t % cc.eligibility_review_weeks == 0:
        mean = C.spend_sum / C.spend_weeks
        over = mean > C.budget_week
        under = mean < cc.underspend_band * C.budget_week
        lo, hi = BANDS.index(cc.eligibility_band), BANDS.index(cc.eligibility_band_max)
        C.band = np.clip(C.band + over.astype(int) - under.astype(int), lo, hi)
        C.threshold = C.band_hours[C.band]
        C.spend_sum, C.spend_weeks = np.zeros(C.n), 0
    week.put("eligibility_band", C.band.copy())
    week.put("eligibility_threshold", C.threshold.copy())


FEES = Phase("fees", uplift_fees, reads="week number, council.fee_uplift",
             writes="council fee rates (block_price), once a year")
BLOCKS = Phase("blocks", manage_blocks,
               reads="block contracts (edges), last week's council purchases (trad_units)",
               writes="block volumes, prices and end dates of contracts; week.renewed (the "
                      "contracts renewed this week)")
COUNCIL_BUDGET = Phase(
    "council_budget", budget_response, reads="the week's council net spend (ledger)",
    writes="councils' smoothed spend and eligibility threshold",
    columns=(Column("eligibility_band", "code", "lowest FACS band funded (0 low, 1 moderate, 2 "
                    "substantial, 3 critical)", scale=False),
             Column("eligibility_threshold", "hours/week",
                    "eligible need below which nobody is council-funded (entrants; at reviews)",
                    scale=False),))
