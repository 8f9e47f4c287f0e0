"""Outputs: the per-council weekly time series and the headline summary.

One row per council per step of model-level aggregates (bincounts over the arrays), never
every agent every step, so recording stays cheap at national scale.  The column list and the
summary's definitions are documented in the README; change them here and there together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .market import hhi
from .state import (
    AGENCY,
    COMMUNITY,
    DAY,
    DP,
    GONE,
    MPB,
    N_TYPES,
    PA,
    PROVIDER_TYPES,
    RES,
    RESIDENTIAL,
    SELF,
    TRAD,
)


def _div(a, b):
    """a / b where b > 0, else NaN (a rate with no denominator is undefined, not zero)."""
    b = np.asarray(b, float)
    return np.divide(a, b, out=np.full(b.shape, np.nan), where=b > 0)


def _nanmean(v) -> float:
    v = v[~np.isnan(v)]
    return float(v.mean()) if v.size else np.nan


#: National figures of the latest week (``Recorder.national``), collected by Mesa's DataCollector.
NATIONAL = ("pb_share", "providers", "unmet_need_share", "spot_price_agency", "spend_total",
            "spend_traditional", "spend_personal_budgets")


class Recorder:
    def __init__(self, model):
        self.rows: list[dict[str, np.ndarray]] = []
        self.national = dict.fromkeys(NATIONAL, np.nan)
        self.panel_rows: list[pd.DataFrame] = []
        self.start = self._snapshot(model)
        # A sampled panel of people followed week by week (their rows, while they stay).
        k = model.cfg.output.panel_size
        live = np.flatnonzero(model.users.active)
        rows = np.sort(model.rng.choice(live, size=min(k, live.size), replace=False)) if k else live[:0]
        self.panel = (rows, model.users.uid[rows].copy())

    def _snapshot(self, model):
        u, p = model.users, model.providers
        route = u.route[u.active]
        funded = (route == TRAD) | (route == DP) | (route == MPB)
        pb = (route == DP) | (route == MPB)
        return {
            "pb_share": float(pb.sum() / max(funded.sum(), 1)),
            "providers": int(p.active.sum()),
        }

    def record(self, model, ledger, cl):
        p, e, C = model.providers, model.edges, model.council
        n = C.n
        t = model.steps_done
        # Per-(council, route) sums of people, need, unmet need, QoL and choice come from the
        # outcomes pass (one fused pass over all rows, see kernels.py).
        S = model.user_sums
        by_route = S["count"].astype(np.int64)

        def funded_sum(name):
            return S[name][:, :SELF].sum(axis=1)

        n_trad, n_pb = by_route[:, TRAD], by_route[:, DP] + by_route[:, MPB]
        n_funded = n_trad + n_pb
        unmet_hours, need_hours = funded_sum("unmet"), funded_sum("need")
        queue = model.queue_counts.astype(np.int64)

        live = np.flatnonzero(p.active)
        ptype = p.ptype[live]
        ed = np.flatnonzero(e.active)
        serve = np.zeros((n, N_TYPES), dtype=np.int64)
        np.add.at(serve, (e.council[ed], p.ptype[e.provider[ed]]), 1)
        cap_home = np.bincount(p.home[live], p.capacity_cleared[live] * (ptype != RESIDENTIAL), n)
        del_home = np.bincount(p.home[live], p.delivered[live] * (ptype != RESIDENTIAL), n)
        blk = ed[(e.block_volume[ed] > 0) & (p.ptype[e.provider[ed]] == AGENCY)]
        block_vol = np.bincount(e.council[blk], e.block_volume[blk], n)
        block_price = _div(np.bincount(e.council[blk], e.block_price[blk] * e.block_volume[blk], n),
                           block_vol)
        spot = cl.spot_price.reshape(n, N_TYPES)
        spend_trad = ledger.spend_trad_block + ledger.spend_trad_spot
        spend_dp = ledger.dp_transfers - ledger.clawback
        spend_pb = spend_dp + ledger.spend_managed_pb
        row = {
            "step": np.full(n, t), "date": np.full(n, np.datetime64(model.date_of(t), "D")),
            "council": np.arange(n),
            "users": by_route[:, :GONE].sum(axis=1), "funded_community": n_funded,
            "traditional": n_trad, "direct_payment": by_route[:, DP],
            "managed_pb": by_route[:, MPB], "self_funders": by_route[:, SELF],
            "residential": by_route[:, RES],
            "pb_share": _div(n_pb, n_funded), "target_share": C.target_share(t),
            "queue_length": queue[:, 0], "in_planning": queue[:, 1],
            "plans_started": C.plans_started, "conversions_planned": C.conv_planned,
            "conversions_unplanned": C.conv_unplanned,
            "spend_traditional": spend_trad, "spend_traditional_idle_block": ledger.spend_trad_idle,
            "spend_direct_payment": spend_dp,
            "spend_managed_pb": ledger.spend_managed_pb, "spend_residential": ledger.spend_residential,
            "spend_planning": ledger.spend_planning, "spend_brokerage": ledger.spend_brokerage,
            "clawback": ledger.clawback, "spend_total": ledger.council_net_spend,
            "spend_self_funders": ledger.self_spend, "family_pay": ledger.family_received,
            "cost_pb_per_user_week": _div(spend_pb, n_pb),
            "cost_traditional_per_user_week": _div(spend_trad, n_trad),
            "spot_price_agency": spot[:, AGENCY], "spot_price_day": spot[:, DAY],
            "price_pa": spot[:, PA], "price_community": spot[:, COMMUNITY],
            "block_price_agency": block_price, "block_volume_agency": block_vol,
            "providers": serve.sum(axis=1),
            **{f"providers_{name}": serve[:, i] for i, name in enumerate(PROVIDER_TYPES)},
            "provider_entries": model.entries_week.copy(), "provider_exits": model.exits_week.copy(),
            "hhi": hhi(e.council[ed], e.revenue[ed], n),
            "utilisation": _div(del_home, cap_home),
            "unmet_need_share": _div(unmet_hours, need_hours), "unmet_need_hours": unmet_hours,
            "carers": model.carer_sums[:, 0].astype(np.int64),
            "carer_strain_mean": _div(model.carer_sums[:, 1], model.carer_sums[:, 0]),
            "carers_paid": model.carer_sums[:, 2].astype(np.int64),
            "carer_burnouts": C.burnouts.copy(),
            "qol_mean": _div(funded_sum("qol"), n_funded),
            "choice_mean": _div(funded_sum("choice"), n_funded),
            "eligibility_threshold": C.threshold.copy(), "turned_away": C.turned_away_week.copy(),
            "wage": model.wage.copy(), "labour_tightness": model.labour_tightness.copy(),
            "planning_wait_weeks": _div(C.conv_wait_sum, C.conversions),
        }
        self.rows.append(row)
        self._record_panel(model, t)
        # National figures of this week, for Mesa's DataCollector and the dashboard.
        funded = max(float(n_funded.sum()), 1)
        self.national = {
            "pb_share": float(by_route[:, DP].sum()) / funded + float(by_route[:, MPB].sum()) / funded,
            "providers": int(live.size),
            "unmet_need_share": _nanmean(row["unmet_need_share"]),
            "spot_price_agency": _nanmean(row["spot_price_agency"]),
            "spend_total": float(row["spend_total"].sum()),
            "spend_traditional": float(spend_trad.sum()),
            "spend_personal_budgets": float(spend_dp.sum()) + float(ledger.spend_managed_pb.sum()),
        }

    def _record_panel(self, model, t):
        rows, uids = self.panel
        if rows.size == 0:
            return
        u = model.users
        here = rows[(u.uid[rows] == uids) & u.active[rows]]
        self.panel_rows.append(pd.DataFrame({
            "step": t, "uid": u.uid[here], "council": u.council[here], "group": u.group[here],
            "route": u.route[here], "planned": u.planned[here], "need": u.need[here],
            "budget": u.budget[here], "spend": u.spend[here],
            "hours_delivered": u.delivered[:, here].sum(axis=0), "met": u.met[here],
            "qol": u.qol[here], "choice": u.choice[here], "main_provider": u.main_provider[here],
            "carer": u.carer[here]}))

    def panel_frame(self) -> pd.DataFrame:
        """The sampled agent panel (``output.panel_size`` people), one row per person-week;
        route codes as in ``sim.state.ROUTES``."""
        return pd.concat(self.panel_rows, ignore_index=True) if self.panel_rows else pd.DataFrame()

    def timeseries(self, model) -> pd.DataFrame:
        if not self.rows:
            return pd.DataFrame()
        cols = {k: np.concatenate([r[k] for r in self.rows]) for k in self.rows[0]}
        df = pd.DataFrame(cols)
        df.insert(3, "council_name", np.asarray(model.council.names)[df["council"].to_numpy()])
        return df


def summary(model, ts: pd.DataFrame | None = None) -> dict:
    """Headline figures of a finished run (definitions in the README); ``ts`` is the run's
    time series if already built."""
    u, rec, T = model.users, model.recorder, model.totals
    ts = rec.timeseries(model) if ts is None else ts
    steps = int(model.steps_done)
    last = ts[ts["step"] > steps - 52]
    end = ts[ts["step"] == steps]
    by_step = last.groupby("step").sum(numeric_only=True)

    conv = np.flatnonzero(u.active & (u.converted_step >= 0) & ((u.route == DP) | (u.route == MPB))
                          & (u.cum_trad_equiv > 0))
    saving = 100 * (1 - u.cum_pb_cost[conv] / u.cum_trad_equiv[conv])
    top = conv[u.trad_cost_at_conv[conv] >= np.quantile(u.trad_cost_at_conv[conv], 0.9)] \
        if conv.size else conv
    top_saving = 100 * (1 - u.cum_pb_cost[top] / u.cum_trad_equiv[top])
    thr = model.cfg.behaviour.outcome_threshold
    dq = u.qol[conv] - u.qol_before[conv]
    dc = u.choice[conv] - u.choice_before[conv]
    n_pb_weeks = (by_step["direct_payment"] + by_step["managed_pb"]).sum()
    n_trad_weeks = by_step["traditional"].sum()
    pb_spend = (by_step["spend_direct_payment"] + by_step["spend_managed_pb"]).sum()

    def hhi_all(frame):
        w = frame["spend_total"].clip(lower=0)
        return float(np.average(frame["hhi"], weights=w)) if w.sum() > 0 else float(frame["hhi"].mean())

    first = ts[ts["step"] == 1]
    budget_total = float(np.nansum(model.council.budget_week) * steps)
    return {
        "scenario": model.cfg.scenario,
        "seed": int(model.cfg.seed), "steps": steps, "councils": int(model.council.n),
        "pb_share_start": rec.start["pb_share"],
        "pb_share_end": float(end["direct_payment"].sum() + end["managed_pb"].sum())
        / max(float(end["funded_community"].sum()), 1.0),
        "annual_cost_pb_mean": float(52 * pb_spend / n_pb_weeks) if n_pb_weeks else None,
        # A traditional package's cost is the care its holder receives at the prices the
        # council pays; block hours paid for but unused are a cost of the contract, not of
        # anyone's package (they are reported separately).
        "annual_cost_traditional_mean": float(52 * (by_step["spend_traditional"].sum()
                                                    - by_step["spend_traditional_idle_block"].sum())
                                              / n_trad_weeks) if n_trad_weeks else None,
        "block_idle_spend_total": float(ts["spend_traditional_idle_block"].sum()),
        "package_saving_pct_mean": float(saving.mean()) if conv.size else None,
        "package_saving_pct_top_decile": float(top_saving.mean()) if top.size else None,
        "package_saving_pct_top_decile_p90": float(np.quantile(top_saving, 0.9))
        if top.size else None,
        "pb_users_measured": int(conv.size),
        **_pb_spend_shares(model, conv),
        "qol_improved_share": float((dq > thr).mean()) if conv.size else None,
        "choice_improved_share": float((dc > thr).mean()) if conv.size else None,
        "worse_off_share": float((dq < -thr).mean()) if conv.size else None,
        "providers_start": int(rec.start["providers"]),
        "providers_end": int(model.providers.n),
        "provider_entries": int(T["entries"]), "provider_exits": int(T["exits"]),
        "hhi_start": hhi_all(first), "hhi_end": hhi_all(end),
        "spot_price_mean_end": _mean_price(end, "spot_price_agency"),
        "block_price_mean_end": _mean_price(end, "block_price_agency"),
        "unmet_need_share_end": float(end["unmet_need_hours"].sum()
                                      / max(_need_end(model), 1e-9)),
        "carer_burnouts": int(model.council.burnouts_total.sum()),
        "planning_wait_weeks_mean": float(np.nansum(model.council.conv_wait_sum)
                                          / max(model.council.conversions.sum(), 1)),
        "conversions_planned": int(ts["conversions_planned"].sum()),
        "conversions_unplanned": int(ts["conversions_unplanned"].sum()),
        "council_spend_total": float(ts["spend_total"].sum()),
        "council_budget_total": budget_total,
    }


def _pb_spend_shares(model, rows) -> dict:
    """How PB holders who moved spend their money now, by option (their traditional packages
    were agency and day services only): share of their weekly spend on each option."""
    from .state import OPTIONS

    u = model.users
    if rows.size == 0:
        return {f"pb_spend_share_{o}": None for o in OPTIONS}
    prices = np.empty((5, rows.size))
    prices[:4] = model.spot_price_ct[u.council[rows], :4].T
    prices[4] = model.cfg.carers.family_rate
    spend = (u.delivered[:, rows] * prices).sum(axis=1)
    total = max(spend.sum(), 1e-9)
    return {f"pb_spend_share_{o}": float(s / total) for o, s in zip(OPTIONS, spend, strict=True)}


def _mean_price(frame, col):
    v = frame[col].to_numpy(float)
    return float(np.nanmean(v)) if np.isfinite(v).any() else None


def _need_end(model):
    u = model.users
    act = u.active & ((u.route == TRAD) | (u.route == DP) | (u.route == MPB))
    return float(u.need[act].sum())
