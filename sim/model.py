"""The Mesa model of a self-directed social care market.

State lives in numpy tables (``sim.state``); the weekly step is a short list of named phases,
each a vectorised function in its own module.  Councils and providers are Mesa agents from the
start; a ``CareUser`` or ``FamilyCarer`` agent is created on first request
(``model.care_user(row)``), because materialising 850,000 Python objects would cost more than
the whole national simulation (issue 3).
"""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np

from . import accounting, councils, kernels, providers
from .agents import CareUser, Council, FamilyCarer, Provider
from .carers import family_care
from .config import SimConfig, to_config
from .outcomes import update_outcomes
from .planning import compose_mix, convert, review, rollout, traditional_mix
from .population import demography, draw_exit_steps, group_arrays, initial_population
from .recording import NATIONAL, Recorder
from .state import (
    DP,
    N_TYPES,
    RES,
    RESIDENTIAL,
    TRAD,
    carer_table,
    edge_table,
    provider_table,
    small_keys,
    user_table,
)


class CareMarketModel(mesa.Model):
    """Councils, providers, care users and family carers in one weekly market.

    ``CareMarketModel(cfg)`` takes a validated ``SimConfig`` (or a Hydra/dict config or dotted
    keyword overrides such as ``**{"policy.pb_target": 0.5}``); ``seed`` defaults to
    ``cfg.seed``.
    """

    def __init__(self, cfg: SimConfig | dict | None = None, seed: int | None = None, **overrides):
        cfg = to_config(cfg, **overrides)
        super().__init__(seed=cfg.seed if seed is None else seed)
        self.cfg = cfg
        self.n_types = N_TYPES
        self.start_date = dt.date.fromisoformat(cfg.start_date)
        self.groups = group_arrays(cfg)
        self.council = councils.CouncilState(cfg, self.rng)
        n_c = self.council.n
        n0 = int(self.council.n_users0.sum() * (1 + cfg.users.self_funder_ratio))
        self.users = user_table(int(n0 * 1.05))
        self.carers = carer_table(self.users.size)
        self.providers = provider_table(1024)
        self.edges = edge_table(2048)
        self.wage = np.full(n_c, max(cfg.market.wage, cfg.market.wage_floor))
        self.spot_price_ct = np.tile(providers.start_prices(cfg), (n_c, 1))
        self.pa_available = np.ones(n_c, dtype=bool)
        self.totals = {"provider_revenue": 0.0, "family_received": 0.0, "self_spend": 0.0,
                       "council_net_spend": 0.0, "planning": 0.0, "brokerage": 0.0,
                       "entries": 0, "exits": 0}
        self.entries_week = np.zeros(n_c, dtype=np.int64)
        self.exits_week = np.zeros(n_c, dtype=np.int64)
        self._handles: dict[int, mesa.Agent] = {}
        self.provider_agents: dict[int, Provider] = {}
        self.council_agents = [Council(self, c) for c in range(n_c)]

        self.ledger = accounting.Ledger(n_c)
        self._initialise()
        self.recorder = Recorder(self)
        self.datacollector = mesa.DataCollector(model_reporters={
            key: (lambda m, key=key: m.recorder.national[key]) for key in NATIONAL})

    # ------------------------------------------------------------------ set-up
    def _initialise(self):
        cfg, u, rng = self.cfg, self.users, self.rng
        initial_population(self, rng)
        comm = np.flatnonzero(u.active & (u.route != RES))
        u.set_rows("mix", comm, traditional_mix(self, comm))
        u.delivered[:, comm] = u.mix[:, comm]
        update_outcomes(self)
        # Existing PB holders converted before the start (some without proper planning).
        funded = np.flatnonzero(u.active & (u.route == TRAD))
        for c in range(self.council.n):
            rows = funded[u.council[funded] == c]
            k = int(round(self.council.pb_start[c] * rows.size))
            pick = rng.choice(rows, size=k, replace=False)
            planned = rng.random(k) < cfg.policy.planned_share_start
            convert(self, pick[planned], planned=True)
            convert(self, pick[~planned], planned=False)
        self.council.conversions[:] = 0
        self.council.conv_wait_sum[:] = 0
        # Markets sized to the demand of day one, then block contracts and main providers.
        comm = np.flatnonzero(u.active & (u.route != RES))
        from .planning import staff_units
        units = staff_units(self, u.mix[:4, comm]).T
        demand = np.zeros((self.council.n, N_TYPES))
        np.add.at(demand, (np.repeat(u.council[comm], 4), np.tile(np.arange(4), comm.size)),
                  units.ravel())
        res = np.flatnonzero(u.active & (u.route == RES))
        demand[:, RESIDENTIAL] = np.bincount(u.council[res], minlength=self.council.n)
        trad = np.zeros_like(demand)
        t_rows = comm[u.route[comm] == TRAD]
        t_units = staff_units(self, u.mix[:4, t_rows]).T
        np.add.at(trad, (np.repeat(u.council[t_rows], 4), np.tile(np.arange(4), t_rows.size)),
                  t_units.ravel())
        trad[:, RESIDENTIAL] = demand[:, RESIDENTIAL]
        providers.initial_market(self, demand, rng)
        providers.initial_blocks(self, trad)
        self.last_trad_units = trad.ravel()
        self.labour_pool = self.labour_used() * (1 + cfg.market.labour_pool_slack)
        compose_mix(self, comm)
        self.assign_residents(res)
        self.entries_week[:] = 0

    # ------------------------------------------------------------------ weekly step
    def step(self):
        """One week, as named phases."""
        self.council.reset_week()
        self.entries_week[:] = 0
        self.exits_week[:] = 0
        self.ledger = ledger = accounting.Ledger(self.council.n)
        demography(self)                                   # entry, exit, need, residential moves
        rollout(self)                                      # queue, plan, convert
        review(self)                                       # annual reviews of need and budget
        councils.uplift_fees(self)                         # yearly fee rates
        councils.manage_blocks(self, self.last_trad_units.reshape(self.council.n, N_TYPES))
        cl, delivered, revenue, block_rev = accounting.purchase_care(self, ledger)
        users, pay = family_care(self)                     # paid family care, strain, burnout
        accounting.pay_family(self, ledger, users, pay)
        accounting.staff_costs(self, ledger)
        accounting.clawback(self, ledger)
        accounting.package_costs(self, ledger)
        update_outcomes(self)
        self.labour_market()
        providers.finances(self, delivered, revenue, block_rev)
        providers.entry(self, self.excess_demand(cl), self.market_margins())
        councils.budget_response(self, ledger.council_net_spend)
        self._book_totals(ledger)
        self.recorder.record(self, ledger, cl)
        self.datacollector.collect(self)

    # ------------------------------------------------------------------ helpers used by phases
    @property
    def steps_done(self) -> int:
        return self.steps

    def date_of(self, step: int) -> dt.date:
        return self.start_date + dt.timedelta(weeks=step - 1)

    def labour_used(self) -> np.ndarray:
        p = self.providers
        act = np.flatnonzero(p.active)
        lab = providers.labour_per_unit(self.cfg)[p.ptype[act]] * p.capacity[act]
        return np.bincount(p.home[act], lab, self.council.n)

    def labour_market(self):
        """Care-worker pool grows slowly; a tight pool pushes wages up (never below the floor)."""
        m = self.cfg.market
        self.labour_pool *= (1 + m.labour_growth) ** (1 / 52)
        tight = self.labour_used() / np.maximum(self.labour_pool, 1e-9)
        self.wage = np.maximum(m.wage_floor, m.wage * (1 + m.wage_pressure *
                                                       np.maximum(tight - 0.95, 0.0)))
        self.labour_tightness = tight

    def excess_demand(self, cl) -> np.ndarray:
        """Demand per (council, type) beyond what providers serving it can take at their
        target utilisation (units/week)."""
        p, e = self.providers, self.edges
        ed = np.flatnonzero(e.active)
        n = self.council.n * N_TYPES
        prov = e.provider[ed]
        # A provider's capacity counts in each market it serves, split evenly.
        k = np.bincount(prov, minlength=p.capacity.size)[prov]
        cap = np.bincount(e.council[ed] * N_TYPES + p.ptype[prov], p.capacity[prov] / k, n)
        demand = cl.block_delivered + cl.overflow + cl.spot_demand - cl.overflow
        return np.maximum(demand - self.cfg.market.target_utilisation * cap, 0.0)

    def market_margins(self) -> np.ndarray:
        """Last week's margin (revenue-cost)/revenue of incumbents, per (council, type)."""
        p = self.providers
        act = np.flatnonzero(p.active)
        m = p.home[act] * N_TYPES + p.ptype[act]
        n = self.council.n * N_TYPES
        rev = np.bincount(m, p.revenue[act], n)
        cost = np.bincount(m, p.cost[act], n)
        with np.errstate(invalid="ignore", divide="ignore"):
            margin = np.where(rev > 0, (rev - cost) / rev, 0.0)
        # A market with no providers at all is open to entry.
        return np.where(np.bincount(m, minlength=n) == 0, 1.0, margin)

    def sample_provider(self, markets: np.ndarray) -> np.ndarray:
        """Draw one provider per requested market, weighted by capacity (-1 if none)."""
        if markets.size == 0 or not self.edges.active.any():
            return np.full(markets.size, -1, dtype=np.int32)
        prov, cum, lo, hi, base, top = self._provider_index()
        has = hi[markets] > lo[markets]
        draw = base[markets] + self.rng.random(markets.size) * (top[markets] - base[markets])
        idx = np.clip(np.searchsorted(cum, draw, side="right"), lo[markets],
                      np.maximum(hi[markets] - 1, 0))
        return np.where(has, prov[np.minimum(idx, prov.size - 1)], -1).astype(np.int32)

    def _provider_index(self):
        """Edges sorted by market with cumulative capacity, for sampling providers.

        Rebuilt when providers enter or leave or a new week starts (capacities change once a
        week, in the providers' phase), not on every call."""
        stamp = (self.steps, self.providers._next_uid, self.providers.n, self.edges.n)
        if getattr(self, "_pindex_stamp", None) == stamp:
            return self._pindex
        p, e = self.providers, self.edges
        ed = np.flatnonzero(e.active)
        prov = e.provider[ed]
        em = e.council[ed] * N_TYPES + p.ptype[prov]
        order = np.argsort(small_keys(em, self.council.n * N_TYPES), kind="stable")
        em, prov = em[order], prov[order]
        cum = np.cumsum(np.maximum(p.capacity[prov], 1e-9))
        n = self.council.n * N_TYPES
        lo = np.searchsorted(em, np.arange(n))
        hi = np.searchsorted(em, np.arange(n), side="right")
        base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
        top = np.where(hi > 0, cum[np.maximum(hi - 1, 0)], 0.0)
        self._pindex, self._pindex_stamp = (prov, cum, lo, hi, base, top), stamp
        return self._pindex

    def assign_residents(self, rows):
        u = self.users
        u.main_provider[rows] = self.sample_provider(u.council[rows] * N_TYPES + RESIDENTIAL)

    def place_in_residential(self, movers):
        """Move users into care homes with a free bed in their council; others stay at home."""
        u, p, rng = self.users, self.providers, self.rng
        homes = np.flatnonzero(p.active & (p.ptype == RESIDENTIAL))
        occ = kernels.residents_per_home(u.route, u.main_provider, p.capacity.size)
        vac = np.maximum(np.floor(p.capacity[homes] - occ[homes]), 0).astype(int)
        slots = np.repeat(homes, vac)
        if slots.size == 0:
            return
        # Free beds in random order, then grouped by council (a stable radix sort on a
        # small-integer key keeps the random order within each council).
        slots = slots[rng.permutation(slots.size)]
        slot_council = p.home[slots]
        order = np.argsort(small_keys(slot_council, self.council.n), kind="stable")
        slots, slot_council = slots[order], slot_council[order]
        n_c = self.council.n
        start_s = np.searchsorted(slot_council, np.arange(n_c))
        count_s = np.bincount(slot_council, minlength=n_c)
        movers = movers[np.argsort(u.council[movers], kind="stable")]
        mc = u.council[movers]
        rank = np.arange(movers.size) - np.searchsorted(mc, np.arange(n_c))[mc]
        ok = rank < count_s[mc]
        placed, home = movers[ok], slots[start_s[mc[ok]] + rank[ok]]
        self._return_balances(placed)
        carers = u.carer[placed]
        self.carers.remove(carers[carers >= 0])
        u.carer[placed] = -1
        u.informal[placed] = 0.0
        u.route[placed] = RES
        u.in_queue[placed] = False
        u.planning_until[placed] = -1
        u.mix[:, placed] = 0.0
        u.delivered[:, placed] = 0.0
        u.main_provider[placed] = home
        draw_exit_steps(self, placed)

    def assign_new_users(self, rows):
        compose_mix(self, rows)

    def _return_balances(self, rows):
        dp = rows[self.users.route[rows] == DP]
        if dp.size:
            accounting.clawback(self, self.ledger, dp)

    def remove_users(self, rows, count_exit=True):
        if rows.size == 0:
            return
        u = self.users
        if count_exit:
            self._return_balances(rows)
        carers = u.carer[rows]
        self.carers.remove(carers[carers >= 0])
        u.carer[rows] = -1
        u.remove(rows)
        if self._handles:
            for r in rows[np.isin(rows, np.fromiter(self._handles, dtype=np.int64))]:
                self._handles.pop(int(r)).remove()

    def on_providers_added(self, rows):
        for r in rows:
            self.provider_agents[int(r)] = Provider(self, int(r))
        n_c = self.council.n
        self.entries_week += np.bincount(self.providers.home[rows], minlength=n_c)

    def remove_providers(self, rows):
        """Insolvent providers leave: contracts end, their users are disrupted and re-placed."""
        if rows.size == 0:
            return
        u, p, e, t = self.users, self.providers, self.edges, self.steps_done
        p.exit_step[rows] = t
        self.exits_week += np.bincount(p.home[rows], minlength=self.council.n)
        p.remove(rows)
        e.remove(np.flatnonzero(e.active & np.isin(e.provider, rows)))
        gone = np.zeros(p.size, dtype=bool)
        gone[rows] = True
        hit = kernels.users_of(u.main_provider, u.route, gone)
        u.disrupted_until[hit] = t + self.cfg.behaviour.disruption_weeks
        res = hit[u.route[hit] == RES]
        self.assign_residents(res)
        comm = hit[u.route[hit] != RES]
        main = np.argmax(u.mix[:4, comm], axis=0)
        u.main_provider[comm] = self.sample_provider(u.council[comm] * N_TYPES + main)
        for r in rows:
            self.provider_agents.pop(int(r)).remove()

    def _book_totals(self, ledger):
        T = self.totals
        T["council_net_spend"] += ledger.council_net_spend.sum()
        T["provider_revenue"] += ledger.provider_revenue.sum()
        T["family_received"] += ledger.family_received.sum()
        T["self_spend"] += ledger.self_spend.sum()
        T["planning"] += ledger.spend_planning.sum()
        T["brokerage"] += ledger.spend_brokerage.sum()
        T["entries"] += int(self.entries_week.sum())
        T["exits"] += int(self.exits_week.sum())

    # ------------------------------------------------------------------ agent handles
    def care_user(self, row: int) -> CareUser:
        """The Mesa agent for user ``row`` (created on first use)."""
        row = int(row)
        if not self.users.active[row]:
            raise KeyError(f"user row {row} is not an active user")
        h = self._handles.get(row)
        if h is None or h.uid != self.users.uid[row]:
            h = self._handles[row] = CareUser(self, row)
        return h

    def family_carer(self, row: int) -> FamilyCarer:
        if not self.carers.active[row]:
            raise KeyError(f"carer row {row} is not an active carer")
        return FamilyCarer(self, int(row))

    def family_graph(self):
        """The user-carer network as a networkx graph (built on request; for analysis)."""
        import networkx as nx

        c = self.carers
        act = np.flatnonzero(c.active)
        g = nx.Graph()
        g.add_edges_from(zip((f"u{x}" for x in c.user[act]), (f"c{x}" for x in act), strict=True))
        return g

    def run(self, steps: int | None = None, progress: bool = False):
        steps = self.cfg.steps if steps is None else steps
        it = range(steps)
        if progress:
            from tqdm import tqdm
            it = tqdm(it, desc="weeks", unit="wk", leave=False)
        for _ in it:
            self.step()
        return self

