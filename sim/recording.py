"""Outputs: the per-council weekly time series and the headline summary.

One row per council per step of model-level aggregates, never every agent every step, so
recording stays cheap at national scale.  The recorder only assembles: each column is
declared (name, unit, meaning) and filled by the phase that produces it (``sim.schedule``;
the table in docs/columns.md is generated from those declarations).  The summary's
definitions are documented in the README.
"""

from __future__ import annotations

from itertools import repeat

import mesa
import numpy as np
import pandas as pd

from .codes import (
    DP,
    MPB,
    N_MARKET_OPTIONS,
    OPTIONS,
    PROVIDER_TYPES,
    ROUTES,
    TRAD,
    WEEKS_PER_YEAR,
    council_funded,
    holds_pb,
)
from .config import GROUPS
from .schedule import PHASES, columns
from .week import Week

#: Headline national figures of the latest week (``Recorder.national``), defined as ratios of
#: national totals where a sum or mean of council values would mislead; every time-series
#: column is also in ``Recorder.national`` (summed over councils, or for a column that does
#: not add up, ``Column.scale`` false, its mean over councils).  Mesa's DataCollector reports
#: them all (``national_reporters``).
NATIONAL = ("pb_share", "providers", "unmet_need_share", "spot_price_agency", "spend_total",
            "spend_traditional", "spend_personal_budgets")


def national_names() -> tuple[str, ...]:
    """Every name in ``Recorder.national``: the headline figures, then each column's."""
    rest = [c.name for c in columns()[3:] if c.name not in NATIONAL and c.name != "council_name"]
    return NATIONAL + tuple(rest)


#: What Mesa's DataCollector reports of each ``Provider`` (agent-type reporters, with
#: ``output.provider_reporters``): its type, home council (index), capacity (hours or beds a
#: week), spot price, cash (£), units delivered and revenue (£) this week, and whether active
#: (a provider that exits leaves the model's agents in that week's provider phase, so it has no
#: row from the week of its exit on).
PROVIDER_REPORTERS = {"type": "kind", "council": "home", "capacity": "capacity", "price": "price",
                      "cash": "cash", "delivered": "delivered", "revenue": "revenue",
                      "active": "alive"}


def agent_reporters(model) -> dict:
    """Mesa agent-type reporters (``DataCollector(agenttype_reporters=...)``): each
    ``Council``'s value of every time-series column this week (the step is Mesa's index), so
    ``get_agenttype_vars_dataframe(Council)`` holds the time series; each ``Provider``'s
    ``PROVIDER_REPORTERS`` only with ``output.provider_reporters``: England has some 40,000
    providers, and reading them all took 0.14 s a week, against 0.12-0.27 s for the week's
    simulation (the councils' rows: about 2 ms and 0.3 MB a week).  No reporter for care
    users: they are not all agents (``sim.agents.CareUser``)."""
    from .agents import Council, Provider

    names = [n for n in model.recorder.names if n != "step"]
    # Read from the latest week's values as Python lists (``Recorder.latest``): Mesa calls one
    # reporter per council and column every week (~11,000 calls in England), so each is kept
    # to a dict lookup and a list index.
    council = {n: (lambda a, n=n: a.model.recorder.latest[n][a.index]) for n in names}
    council = {"date": council.pop("date"), "council": council.pop("council"),
               "council_name": "name", **council}
    out = {Council: council}
    if model.cfg.output.provider_reporters:
        out[Provider] = dict(PROVIDER_REPORTERS)
    return out


class DataCollector(mesa.DataCollector):
    """Mesa's DataCollector, with the councils' rows read column by column.

    Mesa calls every agent-type reporter once per agent per step (in England 152 councils x
    ~120 columns, ~18,000 Python calls and ~5 s of a five-year run).  The ``Council``
    reporters of ``agent_reporters`` only read ``Recorder.latest`` (and the council's name),
    so this collector builds the same records from those lists in one ``zip``; every other
    agent type goes through Mesa's loop.  ``test_mesa`` checks that both give the same
    records."""

    def collect(self, model):
        """Mesa's ``collect``, except that a model reporter named for a national figure is read
        from ``Recorder.national`` (plain numbers, the values its reporter returns) without
        Mesa's call and ``deepcopy`` of each (~120 a week); any other goes Mesa's way."""
        national = model.recorder.national
        if getattr(self, "_split", None) is None:     # which reporters go which way, once
            self._split = ({k: r for k, r in self.model_reporters.items() if k not in national},
                           [k for k in self.model_reporters if k in national])
        reporters, (others, read) = self.model_reporters, self._split
        self.model_reporters = others
        try:
            super().collect(model)
        finally:
            self.model_reporters = reporters
        for var in read:
            self.model_vars[var].append(national[var])

    def _record_agenttype(self, model, agent_type):
        from .agents import Council

        if agent_type is not Council:
            return super()._record_agenttype(model, agent_type)
        agents = list(model.agents_by_type[Council])
        idx = [a.index for a in agents]
        ordered = idx == list(range(len(idx)))
        latest, cols = model.recorder.latest, []
        for name in self.agenttype_reporters[Council]:
            if name == "council_name":
                cols.append([a.name for a in agents])
            else:
                v = latest[name]
                cols.append(v if ordered else [v[i] for i in idx])
        return zip(repeat(model.steps), (a.unique_id for a in agents), *cols, strict=False)


class Recorder:
    def __init__(self, model):
        self.rows: list[dict[str, np.ndarray]] = []
        self.latest: dict[str, list] = {}
        self.national = dict.fromkeys(national_names(), np.nan)
        self._scale = {c.name: c.scale for phase in PHASES for c in phase.columns}
        self._national_order = tuple(self._scale)
        self._summed = np.array(list(self._scale.values()), dtype=bool)
        #: The panel's weeks, each a dict of columns (one frame is built on request: a
        #: DataFrame a week cost ~0.2 ms, a sixth of a council's recording).
        self.panel_rows: list[dict[str, np.ndarray]] = []
        self.start = self._snapshot(model)
        self.names = tuple(c.name for c in columns() if c.name != "council_name")
        # A sampled panel of people followed week by week (their rows, while they stay).
        k = model.cfg.output.panel_size
        live = np.flatnonzero(model.users.active)
        rows = np.sort(model.rng.choice(live, size=min(k, live.size), replace=False)) if k else live[:0]
        self.panel = (rows, model.users.uid[rows].copy())
        #: Effects against the counterfactual (``sim.counterfactual.effects``), once compared.
        self.effects: dict = {}

    def _snapshot(self, model):
        u, p = model.users, model.providers
        route = u.route[u.active]
        return {
            "pb_share": float(holds_pb(route).sum() / max(council_funded(route).sum(), 1)),
            "providers": int(p.active.sum()),
            "providers_by_type": np.bincount(p.ptype[p.active], minlength=len(PROVIDER_TYPES)),
        }

    def record(self, model, week: Week):
        """Assemble the week's row from the columns the phases filled."""
        n, t = model.council.n, model.policy_week(week.t)
        if not self.rows:
            _check_declared(week)
        row = {"step": np.full(n, t), "date": np.full(n, np.datetime64(model.date_of(t), "D")),
               "council": np.arange(n)}
        row.update((name, week.columns[name]) for name in self.names[3:])
        self.rows.append(row)
        #: This week's row as Python lists (dates as numpy datetimes), for the Council agents'
        #: reporters (``agent_reporters``).
        self.latest = {k: (list(v) if k == "date" else v.tolist()) for k, v in row.items()}
        self._record_panel(model, t)
        # National figures of this week, for Mesa's DataCollector and the dashboard.
        n_pb = float(row["direct_payment"].sum() + row["managed_pb"].sum())
        # One stacked array for all columns: two reductions instead of ~120 small ones.
        names, summed = self._national_order, self._summed
        table = np.array([row[name] for name in names], dtype=np.float64)
        values = np.empty(len(names))
        values[summed] = table[summed].sum(axis=1)
        # The mean over councils of each other column, NaN-skipping (as ``np.nanmean``, whose
        # sums these are, without its overhead); an all-NaN column gives NaN.
        rest = table[~summed]
        known = ~np.isnan(rest)
        count = known.sum(axis=1)
        values[~summed] = np.divide(np.where(known, rest, 0.0).sum(axis=1), count,
                                    out=np.full(count.size, np.nan), where=count > 0)
        self.national = dict(zip(names, values.tolist(), strict=True))
        self.national |= {
            "pb_share": n_pb / max(float(row["funded_community"].sum()), 1),
            "providers": int(model.providers.n),     # each provider once, wherever it serves
            "spend_personal_budgets": float(row["spend_direct_payment"].sum())
            + float(row["spend_managed_pb"].sum()),
        }

    def _record_panel(self, model, t):
        rows, uids = self.panel
        if rows.size == 0:
            return
        u = model.users
        here = rows[(u.uid[rows] == uids) & u.active[rows]]
        self.panel_rows.append({
            "step": np.full(here.size, t), "uid": u.uid[here], "council": u.council[here],
            "group": u.group[here],
            "route": u.route[here], "plan_quality": u.plan_quality[here], "need": u.need[here],
            "budget": u.budget[here], "spend": u.spend[here],
            "hours_delivered": u.delivered[:, here].sum(axis=0), "met": u.met[here],
            "qol": u.qol[here], "choice": u.choice[here], "main_provider": u.main_provider[here],
            "carer": u.carer[here]})

    def panel_frame(self) -> pd.DataFrame:
        """The sampled agent panel (``output.panel_size`` people), one row per person-week;
        route codes as in ``sim.state.ROUTES``."""
        if not self.panel_rows:
            return pd.DataFrame()
        return pd.DataFrame({k: np.concatenate([w[k] for w in self.panel_rows])
                             for k in self.panel_rows[0]})

    def timeseries(self, model) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame()
        cols = {k: np.concatenate([r[k] for r in self.rows]) for k in self.rows[0]}
        df = pd.DataFrame(cols)
        df.insert(3, "council_name", np.asarray(model.council.names)[df["council"].to_numpy()])
        return df


def _waits(C) -> dict:
    """Weeks from joining the queue to holding a PB, for conversions after a support plan and
    for those without one (None where there were none)."""
    n_p = int(C.conversions_planned.sum())
    n_u = int(C.conversions.sum()) - n_p
    w_p = float(C.conv_wait_sum_planned.sum())
    w_u = float(C.conv_wait_sum.sum()) - w_p
    return {"planning_wait_weeks_planned": w_p / n_p if n_p else None,
            "planning_wait_weeks_unplanned": w_u / n_u if n_u else None}


def summary(model, ts: pd.DataFrame | None = None) -> dict:
    """Headline figures of a finished run (definitions in the README); ``ts`` is the run's
    time series if already built."""
    u, rec, T = model.users, model.recorder, model.totals
    ts = rec.timeseries(model) if ts is None else ts
    steps = int(model.steps)
    year = int(WEEKS_PER_YEAR)
    last = ts[ts["step"] > steps - year]
    end = ts[ts["step"] == steps]
    # Sums that propagate NaN: a NaN in the weekly figures must not become a 0 in the summary.
    num = last.select_dtypes("number")
    by_step = num.groupby(last["step"]).apply(lambda g: g.sum(skipna=False))

    conv = np.flatnonzero(u.active & (u.converted_step >= 0) & holds_pb(u.route)
                          & (u.cum_trad_equiv > 0))
    saving = 100 * (1 - u.cum_pb_cost[conv] / u.cum_trad_equiv[conv])
    top = conv[u.trad_cost_at_conv[conv] >= np.quantile(u.trad_cost_at_conv[conv], 0.9)] \
        if conv.size else conv
    top_saving = 100 * (1 - u.cum_pb_cost[top] / u.cum_trad_equiv[top])
    thr = model.cfg.behaviour.outcome_threshold
    dq = u.qol[conv] - u.qol_before[conv]
    dc = u.choice[conv] - u.choice_before[conv]
    n_pb_weeks = (by_step["direct_payment"] + by_step["managed_pb"]).sum(skipna=False)
    n_trad_weeks = by_step["traditional"].sum(skipna=False)
    pb_spend = (by_step["spend_direct_payment"] + by_step["spend_managed_pb"]).sum(skipna=False)

    def hhi_all(frame):
        w = frame["spend_total"].clip(lower=0)
        return float(np.average(frame["hhi"], weights=w)) if w.sum() > 0 else float(frame["hhi"].mean())

    first = ts[ts["step"] == 1]
    budget_total = float(np.sum(model.council.budget_week) * steps)
    return {
        "scenario": model.cfg.scenario,
        "seed": int(model.cfg.seed), "steps": steps, "councils": int(model.council.n),
        # Which posterior draw gave the calibrated parameters (-1: the most likely set).
        "posterior_draw": int(model.cfg.posterior.draw),
        "pb_share_start": rec.start["pb_share"],
        "pb_share_end": float(end["direct_payment"].sum() + end["managed_pb"].sum())
        / max(float(end["funded_community"].sum()), 1.0),
        "annual_cost_pb_mean": float(WEEKS_PER_YEAR * pb_spend / n_pb_weeks) if n_pb_weeks else None,
        # A traditional package's cost is the care its holder receives at the prices the
        # council pays; block hours paid for but unused are a cost of the contract, not of
        # anyone's package (they are reported separately).
        "annual_cost_traditional_mean": float(WEEKS_PER_YEAR * (
            by_step["spend_traditional"].sum(skipna=False)
            - by_step["spend_traditional_idle_block"].sum(skipna=False))
                                              / n_trad_weeks) if n_trad_weeks else None,
        "block_idle_spend_total": float(ts["spend_traditional_idle_block"].sum(skipna=False)),
        "package_saving_pct_mean": float(saving.mean()) if conv.size else None,
        "package_saving_pct_top_decile": float(top_saving.mean()) if top.size else None,
        "package_saving_pct_top_decile_p90": float(np.quantile(top_saving, 0.9))
        if top.size else None,
        "pb_users_measured": int(conv.size),
        **_pb_spend_shares(model, conv),
        # Before/after: a PB holder's outcome now against the week before they moved (how the
        # Demos 2008 survey asked); the effects against the counterfactual are below.
        "qol_improved_share_before_after": float((dq > thr).mean()) if conv.size else None,
        "choice_improved_share_before_after": float((dc > thr).mean()) if conv.size else None,
        "worse_off_share_before_after": float((dq < -thr).mean()) if conv.size else None,
        "providers_start": int(rec.start["providers"]),
        "providers_end": int(model.providers.n),
        "provider_entries": int(T["entries"]), "provider_exits": int(T["exits"]),
        "hhi_start": hhi_all(first), "hhi_end": hhi_all(end),
        "spot_price_mean_end": _mean_of(end, "spot_price_agency"),
        "block_price_mean_end": _mean_of(end, "block_price_agency"),
        # Over the last year, councils weighted alike: the self-funder premium by type.
        "self_funder_premium_agency": _mean_of(last, "self_funder_premium_agency"),
        "self_funder_premium_day": _mean_of(last, "self_funder_premium_day"),
        # Care homes over the last year: occupancy, fees by payer, who pays.
        "care_home_occupancy_last_year": _mean_of(last, "care_home_occupancy"),
        "care_home_fee_council_last_year": _mean_of(last, "care_home_fee_council"),
        "care_home_fee_self_funder_last_year": _mean_of(last, "care_home_fee_self_funder"),
        "self_funder_premium_residential": _mean_of(last, "self_funder_premium_residential"),
        "residents_self_funding_share_end": float(
            end["residential_self_funders"].sum()
            / max(float(end["residential"].sum() + end["residential_self_funders"].sum()), 1.0)),
        "care_home_spend_downs_total": int(ts["care_home_spend_downs"].sum()),
        "provider_exits_per_year": float(ts["provider_exits"].sum()) / max(steps / year, 1e-9),
        "block_handbacks_total": int(ts["block_handbacks"].sum()),
        "day_centre_closures_total": int(ts["provider_exits_day"].sum()),
        **{f"provider_{kind}_per_year_{name}": float(ts[f"provider_{kind}_{name}"].sum())
           / max(steps / year, 1e-9) for kind in ("exits", "entries") for name in PROVIDER_TYPES},
        # Exits per year as a share of the providers of that type at the start (each counted
        # once, wherever it serves).
        **{f"provider_exit_rate_{name}": float(ts[f"provider_exits_{name}"].sum())
           / max(steps / year, 1e-9) / max(float(rec.start["providers_by_type"][i]), 1.0)
           for i, name in enumerate(PROVIDER_TYPES)},
        "day_centres_start": int(first["providers_day"].sum()),
        "day_centres_end": int(end["providers_day"].sum()),
        "people_displaced_total": int(ts["people_displaced"].sum()),
        "utilisation_last_year": _mean_of(last, "utilisation"),
        # Over the whole run too: block contracts are right-sized at renewal, so what a
        # wind-down changes shows in the first two years more than in the last.
        "utilisation_agency_mean": _mean_of(ts, "utilisation_agency"),
        # What the council paid per agency hour (contract rates, and spot for what the blocks
        # did not cover) over the last year, councils weighted alike.
        "price_council_agency_last_year": _mean_of(last, "price_council_agency"),
        **{f"utilisation_{name}_last_year": _mean_of(last, f"utilisation_{name}")
           for name in PROVIDER_TYPES},
        # The workforce over the last year, councils weighted alike.
        "vacancy_rate_last_year": _mean_of(last, "vacancy_rate"),
        **{f"vacancy_rate_{name}_last_year": _mean_of(last, f"vacancy_rate_{name}")
           for name in PROVIDER_TYPES},
        "turnover_rate_last_year": _mean_of(last, "turnover_rate"),
        "recruitment_cost_total": float(ts["recruitment_cost"].sum()),
        "pa_shortfall_share_last_year": float(last["pa_shortfall"].sum()
                                              / max(float(last["pa_demand"].sum()), 1e-9)),
        "unmet_need_share_end": float(end["unmet_need_hours"].sum()
                                      / max(_need_end(model), 1e-9)),
        "carer_burnouts": int(model.council.burnouts_total.sum()),
        "planning_wait_weeks_mean": float(np.sum(model.council.conv_wait_sum)
                                          / max(model.council.conversions.sum(), 1)),
        # The same split: after a plan, and without one (converted under pressure while
        # waiting); and how many were waiting for a planner in an average week.
        **_waits(model.council),
        "queue_length_mean": float(ts.groupby("step")["queue_length"].sum().mean()),
        "conversions_planned": int(ts["conversions_planned"].sum()),
        "conversions_unplanned": int(ts["conversions_unplanned"].sum()),
        "council_spend_total": float(ts["spend_total"].sum(skipna=False)),
        "council_budget_total": budget_total,
        "moves_back": int(ts["moves_back"].sum()),
        "offers": int(ts["offers"].sum()), "acceptances": int(ts["acceptances"].sum()),
        "lost_eligibility": int(ts["lost_eligibility"].sum()),
        **_saving_parts(model, conv),
        **_pb_sizes(model),
        **_uptake_spread(model, ts),
        **_by_group_route(model),
        **rec.effects,
    }


def _saving_parts(model, rows) -> dict:
    """Where the saving of PB holders who moved comes from, as % of the traditional cost of
    their assessed need at block prices (summed over their weeks on a PB): prices (block prices
    against the prices they pay for the same old package), substitution (the old package
    against the mix they chose), shortfall (the mix cut to the budget), market (what the
    market delivered and charged against the mix bought), brokerage (its cost).  The parts add
    up to the package saving.  The council's saving also counts money paid into direct-payment
    accounts and not spent (net of what clawback recovered)."""
    u = model.users
    T = float(u.cum_trad_equiv[rows].sum())
    if rows.size == 0 or T <= 0:
        return {k: None for k in ("saving_total_pct", "saving_prices_pct",
                                  "saving_substitution_pct", "saving_shortfall_pct",
                                  "saving_market_pct", "saving_brokerage_pct",
                                  "saving_unspent_pct", "saving_council_pct")}

    def s(name):
        return float(getattr(u, name)[rows].sum())

    pb_cost = s("cum_pb_cost")
    return {
        "saving_total_pct": 100 * (T - pb_cost) / T,
        "saving_prices_pct": 100 * (T - s("cum_trad_own")) / T,
        "saving_substitution_pct": 100 * (s("cum_trad_own") - s("cum_wanted")) / T,
        "saving_shortfall_pct": 100 * (s("cum_wanted") - s("cum_bought")) / T,
        "saving_market_pct": 100 * (s("cum_bought") - s("cum_spend")) / T,
        "saving_brokerage_pct": -100 * s("cum_broker") / T,
        "saving_unspent_pct": 100 * (pb_cost - s("cum_council")) / T,
        "saving_council_pct": 100 * (T - s("cum_council")) / T,
    }


def _pb_sizes(model) -> dict:
    """The distribution of annual PB sizes (budget x 52) of PB holders at the end: deciles, the
    shares under £1,000 and at £10,000 or more, the mean."""
    u = model.users
    annual = WEEKS_PER_YEAR * u.budget[u.active & holds_pb(u.route)]
    out = {f"pb_size_p{10 * k}": float(np.quantile(annual, k / 10)) if annual.size else None
           for k in range(1, 10)}
    out["pb_size_mean"] = float(annual.mean()) if annual.size else None
    out["pb_size_share_under_1k"] = float((annual < 1000).mean()) if annual.size else None
    out["pb_size_share_10k_plus"] = float((annual >= 10000).mean()) if annual.size else None
    return out


def _uptake_spread(model, ts) -> dict:
    """How councils' PB shares differ: their spread at the end of the run and at the target
    date (the end of ``policy.rollout_months``), as standard deviation and 10th/90th
    percentiles over councils."""
    out = {}
    last = int(ts["step"].max())
    target = min(max(int(round(model.council.rollout_weeks)), 1), last)
    for tag, step in (("end", last), ("target", target)):
        v = ts.loc[ts["step"] == step, "pb_share"].to_numpy(float)
        v = v[np.isfinite(v)]
        out[f"pb_share_{tag}_council_sd"] = float(v.std()) if v.size else None
        out[f"pb_share_{tag}_council_p10"] = float(np.quantile(v, 0.1)) if v.size else None
        out[f"pb_share_{tag}_council_p90"] = float(np.quantile(v, 0.9)) if v.size else None
    week = ts[ts["step"] == target]
    out["pb_share_target_week"] = float(week["direct_payment"].sum() + week["managed_pb"].sum()) \
        / max(float(week["funded_community"].sum()), 1.0)
    return out


def _by_group_route(model) -> dict:
    """People at the end by user group and route (traditional, direct payment, managed PB):
    count, the council's weekly cost of their support per person (£: a traditional package at
    block prices, a direct payment's budget, a managed PB's purchases), mean quality of life
    and choice."""
    from .support import traditional_cost

    u = model.users
    out = {}
    act = np.flatnonzero(u.active)
    for g, gname in enumerate(GROUPS):
        for r in (TRAD, DP, MPB):
            rows = act[(u.group[act] == g) & (u.route[act] == r)]
            key = f"{gname}_{ROUTES[r]}"
            n = rows.size
            out[f"people_{key}"] = int(n)
            cost = (traditional_cost(model, rows, u.assessed[rows]) if r == TRAD
                    else u.budget[rows] if r == DP else u.spend[rows])
            out[f"cost_week_{key}"] = float(cost.mean()) if n else None
            out[f"qol_mean_{key}"] = float(u.qol[rows].mean()) if n else None
            out[f"choice_mean_{key}"] = float(u.choice[rows].mean()) if n else None
    return out


def _pb_spend_shares(model, rows) -> dict:
    """How PB holders who moved spend their money now, by option (their traditional packages
    were agency and day services only): share of their weekly spend on each option."""
    u = model.users
    if rows.size == 0:
        return {f"pb_spend_share_{o}": None for o in OPTIONS}
    M = N_MARKET_OPTIONS
    prices = np.empty((len(OPTIONS), rows.size))
    prices[:M] = model.spot_price_ct[u.council[rows], :M].T
    prices[M:] = model.cfg.carers.family_rate
    spend = (u.delivered[:, rows] * prices).sum(axis=1)
    total = max(spend.sum(), 1e-9)
    return {f"pb_spend_share_{o}": float(s / total) for o, s in zip(OPTIONS, spend, strict=True)}


def _mean_of(frame, col):
    v = frame[col].to_numpy(float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else None


def _need_end(model):
    u = model.users
    return float(u.need[u.active & council_funded(u.route)].sum())


def _check_declared(week: Week):
    """Every declared column was filled, and nothing undeclared (checked on the first week)."""
    declared = {c.name for phase in PHASES for c in phase.columns}
    filled = set(week.columns)
    if declared != filled:
        raise RuntimeError(f"time-series columns declared but not filled: {sorted(declared - filled)}; "
                           f"filled but not declared: {sorted(filled - declared)}")
