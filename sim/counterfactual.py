"""Effects against the counterfactual: the same run without the rollout, person by person.

A run's counterfactual is the same configuration and seed with ``policy.rollout`` off (the
council offers PBs only on request, at the pre-rollout rate).  Both runs hold the same people
with the same luck (common random numbers, ``sim.crn``: the same entrants, need shocks, care-
home moves and carers' burnouts, and the same tastes when offered a choice), so a person's
effect is the difference between their two paths: their quality of life, choice and control,
and unmet need, averaged over the last ``output.effect_window_weeks`` weeks of each run; the
cost effect is the difference in council spend.  Someone is *worse off* when their quality of
life in the run is lower than in their counterfactual by more than
``behaviour.outcome_threshold``.

The survey figures of the sources (Demos 2008) are before/after self-reports; the summary keeps
the model's before/after analogue under ``*_before_after`` names for them.
"""

from __future__ import annotations

import copy

import numpy as np

from .codes import DP, MPB, ROUTES, council_funded, holds_pb
from .config import GROUPS, SimConfig


def counterfactual_config(cfg: SimConfig) -> SimConfig:
    """The same configuration without the rollout (figures and the counterfactual off)."""
    cf = copy.deepcopy(cfg)
    cf.policy.rollout = False
    cf.output.counterfactual = False
    cf.output.figures = False
    return cf


def run_counterfactual(model):
    """Run ``model``'s counterfactual to the same length; return it."""
    from .model import CareMarketModel

    cf = CareMarketModel(counterfactual_config(model.cfg))
    cf.run(model.steps)
    return cf


def run_with_counterfactual(cfg, progress: bool = False):
    """Run ``cfg`` and, if ``cfg.output.counterfactual``, its counterfactual; the effects go
    into the run's summary (``model.recorder.effects``).  Returns the run's model."""
    from .model import CareMarketModel

    model = CareMarketModel(cfg).run(progress=progress)
    if cfg.output.counterfactual:
        model.recorder.effects = effects(model, run_counterfactual(model))
    return model


def _window(model):
    """Per person present for the whole effect window: uid and window means."""
    u = model.users
    k = min(model.cfg.output.effect_window_weeks, model.steps)
    rows = np.flatnonzero(u.active & (u.win_weeks >= k))
    w = np.maximum(u.win_weeks[rows], 1)
    need = np.maximum(u.win_need[rows], 1e-9)
    return rows, {
        "uid": u.uid[rows], "qol": u.win_qol[rows] / w, "choice": u.win_choice[rows] / w,
        "unmet": np.where(u.win_need[rows] > 0, u.win_unmet[rows] / need, 0.0),
    }


def effects(model, cf) -> dict:
    """The run's effects against its counterfactual ``cf`` (see the module docstring): council
    spend, and per person compared (present for the whole window in both runs): shares better
    and worse off, mean differences, by group, route, and planning of those who moved to a PB
    during the run."""
    thr = model.cfg.behaviour.outcome_threshold
    u = model.users
    rows, a = _window(model)
    _, b = _window(cf)
    order = np.argsort(b["uid"])
    sorted_uid = b["uid"][order]
    pos = np.minimum(np.searchsorted(sorted_uid, a["uid"]), max(sorted_uid.size - 1, 0))
    both = (sorted_uid[pos] == a["uid"]) if sorted_uid.size else np.zeros(rows.size, bool)
    match = order[pos] if sorted_uid.size else pos
    rows, match = rows[both], match[both]
    d = {k: a[k][both] - b[k][match] for k in ("qol", "choice", "unmet")}
    route, group = u.route[rows], u.group[rows]
    start = model.cfg.burn_in_weeks
    moved = holds_pb(route) & (u.converted_step[rows] > start)
    funded = council_funded(route)

    spend = float(np.nansum(model.recorder.timeseries(model)["spend_total"]))
    spend_cf = float(np.nansum(cf.recorder.timeseries(cf)["spend_total"]))
    out = {
        "cf_council_spend_total": spend_cf,
        "effect_council_spend_total": spend - spend_cf,
        "effect_council_spend_pct": 100 * (spend / spend_cf - 1) if spend_cf else None,
        "people_compared": int(rows.size),
        "pb_movers_compared": int(moved.sum()),
    }

    def shares(mask, suffix):
        n = int(mask.sum())
        dq, dc = d["qol"][mask], d["choice"][mask]
        out[f"worse_off_share{suffix}"] = float((dq < -thr).mean()) if n else None
        out[f"qol_improved_share{suffix}"] = float((dq > thr).mean()) if n else None
        out[f"choice_improved_share{suffix}"] = float((dc > thr).mean()) if n else None
        out[f"effect_qol_mean{suffix}"] = float(dq.mean()) if n else None
        out[f"effect_unmet_share{suffix}"] = float(d["unmet"][mask].mean()) if n else None
        out[f"people{suffix}"] = n

    shares(moved, "")
    shares(funded, "_all_funded")
    for g, name in enumerate(GROUPS):
        shares(moved & (group == g), f"_{name}")
    for r in (DP, MPB):
        shares(moved & (route == r), f"_{ROUTES[r]}")
    q = u.plan_quality[rows]
    shares(moved & (q >= 1.0), "_planned")
    shares(moved & (q > 0) & (q < 1.0), "_rushed")
    shares(moved & (q <= 0), "_unplanned")
    # People displaced during the run (their provider closed or handed their contract back),
    # whatever their route: the cost of the market's exits to the people who lived through them.
    shares(u.displaced_step[rows] > start, "_displaced")
    # The market against its counterfactual: day centres and all providers at the end.
    end, end_cf = _last_week(model), _last_week(cf)
    for col in ("providers", "providers_day", "providers_agency"):
        out[f"effect_{col}_end"] = int(end[col].sum() - end_cf[col].sum())
    out["effect_day_centre_closures"] = int(
        model.recorder.timeseries(model)["provider_exits_day"].sum()
        - cf.recorder.timeseries(cf)["provider_exits_day"].sum())
    return out


def _last_week(model):
    ts = model.recorder.timeseries(model)
    return ts[ts["step"] == ts["step"].max()]

