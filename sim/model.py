"""The Mesa model of a self-directed social care market.

The model owns the state (numpy tables in ``sim.state``, council arrays, prices, the labour
pool) and the Mesa agents, and orchestrates: ``step`` walks the declared schedule of phases
(``sim.schedule.PHASES``), handing each the week's ``Week``; what each phase does lives in
the module named for it.  Councils and providers are Mesa agents from the start; a
``CareUser`` or ``FamilyCarer`` agent is created on first request (``model.care_user(row)``,
``sample_users``, ``iter_users``), because materialising 850,000 Python objects would cost
more than the whole national simulation.  ``docs/architecture.md`` is the map.
"""

from __future__ import annotations

import datetime as dt

import mesa
import numpy as np
from mesa.agent import AgentSet

from . import councils, passes, planning, providers
from .accounting import Ledger
from .agents import CareUser, Council, FamilyCarer, Provider
from .codes import DP, MPB, N_MARKET_OPTIONS, N_TYPES, RES, RESIDENTIAL, ROUTES, TRAD, in_care_home
from .config import GROUPS, SimConfig, design_row, to_config
from .labour import labour_used, pa_employed
from .outcomes import measure
from .planning import choose, convert
from .population import PopulationState, group_arrays, initial_population
from .recording import DataCollector, Recorder, agent_reporters, national_names
from .schedule import PHASES
from .shocks import ShockState
from .state import carer_table, edge_table, provider_table, user_table
from .support import compose_mix, traditional_mix
from .week import Week


class CareMarketModel(mesa.Model):
    """Councils, providers, care users and family carers in one weekly market.

    ``CareMarketModel(cfg)`` takes a validated ``SimConfig`` (or a Hydra/dict config or dotted
    keyword overrides such as ``**{"policy.pb_target": 0.5}``, which is how ``mesa.batch_run``
    passes its parameters).

    **Seed.**  As in Mesa, a model that was not given a seed draws a fresh one, so replicates
    (``mesa.batch_run(..., iterations=K)``) differ:

    * ``CareMarketModel()``, ``CareMarketModel(**{"council.n_users": 500})``: a fresh seed
      (``numpy.random.SeedSequence`` entropy, reduced to 0..2**32-1);
    * ``CareMarketModel(cfg)`` with a config object or dict (``compose(...)``, ``to_config``,
      ``python -m sim``, sweeps): that config's ``seed`` (0 unless it says otherwise);
    * ``CareMarketModel(seed=5)``, ``CareMarketModel(**{"seed": 5})`` (or a ``seed`` column in
      the design row the overrides name): 5; the ``seed`` argument wins over the config's.

    The seed actually used is ``model.seed`` and ``model.cfg.seed``, so ``summary.json`` and
    ``config.yaml`` record it, and so does the DataCollector (model reporter ``seed``: a column
    of every ``batch_run`` row); ``CareMarketModel(seed=model.seed, **same_overrides)``
    repeats a run exactly.

    **Mesa's view.**  ``model.datacollector`` reports the seed and every national figure
    (model reporters), and, per step, every time-series column of each ``Council`` agent
    (``get_agenttype_vars_dataframe(Council)``: one row per council per step, the same values
    as ``recorder.timeseries``); with ``output.provider_reporters=true`` also each
    ``Provider``'s type, home council, capacity, price, cash, delivered units, revenue and
    whether it is active.  ``CareUser`` agents exist only on request (``care_user``,
    ``sample_users``, ``iter_users``): see ``sim.agents.CareUser``.

    Clock: ``model.t`` counts every week simulated, burn-in included
    (``cfg.burn_in_weeks``, simulated at construction with no rollout and not recorded);
    ``model.steps`` (Mesa's) counts the recorded weeks, and step 1 is the policy's first week
    (``policy_week``).
    """

    def __init__(self, cfg: SimConfig | dict | None = None, seed: int | None = None, **overrides):
        given = cfg is not None or "seed" in overrides
        if seed is not None:          # an explicit seed wins, checked like any other value
            overrides["seed"] = seed
        cfg = to_config(cfg, **overrides)
        if seed is None and not given and "seed" not in design_row(cfg):
            cfg.seed = int(np.random.SeedSequence().entropy % 2**32)   # Mesa's way: fresh
        super().__init__(seed=cfg.seed)
        self.seed: int = cfg.seed
        self.cfg = cfg
        self.t = 0
        # People's own generator (entrants and their traits), apart from the market's
        # (``self.rng``), so the same people enter a run and its counterfactual.
        self.people_rng = np.random.default_rng(np.random.SeedSequence([cfg.seed, 1]))
        self.start_date = dt.date.fromisoformat(cfg.start_date)
        self.groups = group_arrays(cfg)
        self.council = councils.CouncilState(cfg, self.rng)
        n_c = self.council.n
        n0 = int(self.council.n_users0.sum() * (1 + cfg.users.self_funder_ratio))
        self.users = user_table(int(n0 * 1.05))
        self.carers = carer_table(self.users.size)
        self.providers = provider_table(1024)
        self.edges = edge_table(2048)
        self.provider_index = providers.ProviderIndex()
        self.wage = np.full(n_c, max(cfg.market.wage, cfg.market.wage_floor))
        self.spot_price_ct = np.tile(providers.start_prices(cfg), (n_c, 1))
        self.labour_pool = np.zeros(n_c)      # care-worker hours/week per council (set below)
        self.shocks = ShockState.start(cfg)   # what shocks at a stated week changed (none yet)
        self.pa_pool = np.zeros(n_c)          # hours/week people will work as PAs (set below)
        self.totals = {"provider_revenue": 0.0, "family_received": 0.0, "self_spend": 0.0,
                       "council_net_spend": 0.0, "planning": 0.0, "brokerage": 0.0,
                       "other_services": 0.0,
                       "entries": 0, "exits": 0, "dp_held_start": 0.0,
                       "clawback_carry_start": 0.0}
        self._handles: dict[int, mesa.Agent] = {}
        self.provider_agents: dict[int, Provider] = {}
        self.council_agents = [Council(self, c) for c in range(n_c)]
        self._initialise()
        self._burn_in()
        self.recorder = Recorder(self)
        self.datacollector = DataCollector(
            model_reporters={"seed": "seed"}     # so each batch_run row names its seed
            | {key: (lambda m, key=key: m.recorder.national[key]) for key in national_names()},
            agenttype_reporters=agent_reporters(self))

    # ------------------------------------------------------------------ set-up
    def _initialise(self):
        cfg, u, rng, n_c = self.cfg, self.users, self.rng, self.council.n
        setup = Week(t=0, n_councils=n_c, ledger=Ledger(n_c))
        initial_population(self, self.people_rng)
        self.population = PopulationState(self)
        comm = np.flatnonzero(u.active & (u.route < RES))
        u.set_rows("mix", comm, traditional_mix(self, comm))
        u.delivered[:, comm] = u.mix[:, comm]
        self.council.price_per_point = planning.price_per_point(self)
        measure(self, 0)
        # Existing PB holders converted before the start (some without proper planning); the
        # route each holds is their own choice between a direct payment and a managed PB.
        funded = np.flatnonzero(u.active & (u.route == TRAD))
        pick = np.concatenate([rng.choice(rows, size=int(round(self.council.pb_start[c]
                                                                  * rows.size)), replace=False)
                               for c in range(n_c)
                               for rows in [funded[u.council[funded] == c]]]).astype(np.int64)
        planned = rng.random(pick.size) < cfg.policy.planned_share_start
        route = choose(self, pick, 0, np.zeros(n_c), allow_trad=False)
        convert(self, setup, pick, route, planned.astype(float))
        self.council.conversions[:] = 0
        self.council.conv_wait_sum[:] = 0
        self.council.conversions_planned[:] = 0
        self.council.conv_wait_sum_planned[:] = 0
        # Markets sized to the demand of day one, then block contracts and main providers.
        comm = np.flatnonzero(u.active & (u.route < RES))
        res = np.flatnonzero(u.active & in_care_home(u.route))
        demand = self._units_by_market(comm)
        # Care homes are sized to all their residents; the council buys its own residents' beds.
        demand[:, RESIDENTIAL] = np.bincount(u.council[res], minlength=n_c)
        # What the council buys through its contracts: traditional packages and managed PBs
        # (``market.purchase``), so the block volume is sized to all of it.
        trad = self._units_by_market(comm[(u.route[comm] == TRAD) | (u.route[comm] == MPB)])
        trad[:, RESIDENTIAL] = np.bincount(u.council[res[u.route[res] == RES]], minlength=n_c)
        providers.initial_market(self, demand, rng)
        providers.initial_blocks(self, trad)
        self.council.trad_units = trad.ravel()
        self.labour_pool = labour_used(self) * (1 + cfg.market.labour_pool_slack)
        self.pa_pool = pa_employed(self) * (1 + cfg.market.labour_pool_slack)
        compose_mix(self, comm)
        providers.place_first_residents(self, res, rng)
        # Carers start at the strain their load implies.
        u.delivered[:, comm] = u.mix[:, comm]
        passes.family_pass(carers=self.carers, users=u, carer_cfg=cfg.carers, n_councils=n_c,
                           strain_rate=1.0)
        self.carers.cum_received[:] = 0.0

    def _burn_in(self):
        """``cfg.burn_in_weeks`` weeks of the full model before step 1, without the rollout
        (the policy starts at step 1) and unrecorded: the market, carers' strain and care homes
        settle, so step 1 starts from a stationary baseline."""
        for _ in range(self.cfg.burn_in_weeks):
            self._week()
        self.totals = dict.fromkeys(self.totals, 0.0)
        self.totals["entries"] = self.totals["exits"] = 0
        # Money already in direct-payment accounts and clawback not yet booked when the
        # recorded run starts (the run's money balances against them).
        u = self.users
        self.totals["dp_held_start"] = float(u.dp_balance[u.active & (u.route == DP)].sum())
        self.totals["clawback_carry_start"] = float(self.council.clawback_carry.sum())
        self.council.conversions[:] = 0
        self.council.conv_wait_sum[:] = 0
        self.council.conversions_planned[:] = 0
        self.council.conv_wait_sum_planned[:] = 0
        self.council.burnouts_total[:] = 0

    def policy_week(self, t: int) -> int:
        """The recorded step of model week ``t`` (1 = the policy's first week)."""
        return t - self.cfg.burn_in_weeks

    def _units_by_market(self, rows) -> np.ndarray:
        """Billable units of ``rows``' mixes per (council, type)."""
        u, M = self.users, N_MARKET_OPTIONS
        units = passes.staff_units(mix=u.mix[:, rows], market=self.cfg.market).T
        out = np.zeros((self.council.n, N_TYPES))
        np.add.at(out, (np.repeat(u.council[rows], M), np.tile(np.arange(M), rows.size)),
                  units.ravel())
        return out

    # ------------------------------------------------------------------ weekly step
    def _week(self) -> Week:
        """One week of the declared phases in order (``sim.schedule.PHASES``)."""
        self.t += 1
        week = Week(t=self.t, n_councils=self.council.n, ledger=Ledger(self.council.n))
        for phase in PHASES:
            phase.run(self, week)
        return week

    def step(self):
        """One recorded week: the phases, then the record."""
        week = self._week()
        self.recorder.record(self, week)
        self.datacollector.collect(self)

    def date_of(self, step: int) -> dt.date:
        return self.start_date + dt.timedelta(weeks=step - 1)

    # ------------------------------------------------------------------ Mesa agents of rows
    def add_provider_agents(self, rows):
        for r in rows:
            self.provider_agents[int(r)] = Provider(self, int(r))

    def remove_provider_agents(self, rows):
        for r in rows:
            self.provider_agents.pop(int(r)).remove()

    def drop_user_agents(self, rows):
        """Forget the Mesa handles of users whose rows were freed."""
        if self._handles:
            for r in rows[np.isin(rows, np.fromiter(self._handles, dtype=np.int64))]:
                self._handles.pop(int(r)).remove()

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

    def user_rows(self, **filters) -> np.ndarray:
        """Rows of the active users that match every filter (one vectorised mask, no loop over
        people).  A filter is a user column (``route``, ``council``, ``group``, ``planned``,
        ...: ``sim.state.user_table``) and a value or a list of values; routes, groups and
        councils may be given by code (``sim.codes.DP``, ``3``) or by name
        (``"direct_payment"``, ``"older"``, ``"Council 004"``)."""
        u = self.users
        mask = u.active.copy()
        names = {"route": ROUTES, "group": GROUPS, "council": tuple(self.council.names)}
        for key, value in filters.items():
            col = u.__dict__.get(key) if key in u._schema else None
            if col is None or col.ndim != 1:
                known = [k for k in u._schema if u.__dict__[k].ndim == 1]
                raise TypeError(f"unknown user filter {key!r}; filter on one of {known}")
            values = value if isinstance(value, (list, tuple, set, np.ndarray)) else [value]
            codes = []
            for v in values:
                if isinstance(v, str):
                    if v not in names.get(key, ()):
                        raise ValueError(f"{key}={v!r} is not a known name; known: "
                                         f"{list(names.get(key, ()))}")
                    v = names[key].index(v)
                codes.append(v)
            mask &= np.isin(col, codes)
        return np.flatnonzero(mask)

    def sample_users(self, k: int, rng=None, **filters) -> AgentSet:
        """At most ``k`` active users drawn at random without replacement from those matching
        ``filters`` (as ``user_rows``), as ``CareUser`` agents in a Mesa ``AgentSet``.

        ``rng`` is a seed or a ``numpy.random.Generator`` (default: fresh entropy); the
        model's own generator is never drawn from, so inspecting a run does not change it.
        """
        rows = self.user_rows(**filters)
        rng = np.random.default_rng(rng)
        pick = rng.choice(rows, size=min(int(k), rows.size), replace=False)
        return AgentSet([self.care_user(r) for r in pick], random=self.random)

    def iter_users(self, **filters):
        """The active users matching ``filters`` (as ``user_rows``), in row order, one
        ``CareUser`` agent at a time.  Each user yielded becomes an agent of the model until
        the person leaves: filter first, or stop early (every user of England would be about a
        million agents)."""
        rows = self.user_rows(**filters)
        uids = self.users.uid[rows].copy()
        for r, uid in zip(rows, uids, strict=True):
            # Skip anyone who left (or whose row was reused) if the model stepped meanwhile.
            if self.users.active[r] and self.users.uid[r] == uid:
                yield self.care_user(r)

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

