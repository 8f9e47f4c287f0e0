"""``python -m sim.calibrate``: fit the free behavioural parameters to the source documents.

Method: a staged Latin-hypercube search (approximate Bayesian computation's rejection step
with the best-fitting point kept), run through the sweep machinery (resumable, parallel), on
the ``making_it_personal`` scenario, which stands for the councils Demos surveyed in 2008.
The loss is the sum over the fitted targets of ((model - target) / tolerance)^2.  The
targets come from the registry (``sim/data/targets.yaml``, ``sim.targets``): only entries
with role ``calibration`` that are not input checks are fitted; role ``validation`` entries
are never seen here (``python -m sim.validate`` predicts them).  No free
parameter is an outcome: each is a behavioural or structural input (how people weigh price and
fit, how much need there is, how councils set budgets, how agencies staff intensive care).

Writes ``configs/calibration/demos_2008.yaml`` (loaded by default) and ``docs/calibration.md``.

    python -m sim.calibrate                      # 4 x 100 points x 2 seeds (about 8 minutes)
    python -m sim.calibrate --points 12 --seeds 1 --out /tmp/cal   # a quick look
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from . import targets
from .config import CONFIG_DIR
from .outputs import atomic_write
from .sweep import run_design

ROOT = CONFIG_DIR.parent

# Free parameters: range and why it is free (no source pins it down).
FREE = {
    "users.need_scale": ((1.0, 2.4), "need distributions are assumptions; the level of average "
                         "packages pins it"),
    "market.agency_intensive_factor": ((1.2, 3.0), "staff hours per intensive agency hour "
                                       "(double-handed visits, waking nights): no 2008 source"),
    "behaviour.mix_satiation": ((0.1, 2.0), "how fast the value of more of one kind of support "
                                "falls (diminishing returns): unobserved"),
    "behaviour.price_sensitivity": ((0.1, 1.5), "how people weigh price against fit: "
                                    "unobserved"),
    "behaviour.fit_threshold": ((0.2, 0.7), "how well an option must fit to be used: "
                                "unobserved"),
    "behaviour.community_max_hours": ((2.0, 20.0), "how much community activity people can "
                                      "use (bowls club, the pub): no figure in the sources"),
    "behaviour.dp_admin_burden": ((0.02, 0.3), "how hard running a direct payment is alone: "
                                  "the Demos warning, without a number"),
    "market.pa_intensive_factor": ((0.3, 1.2), "paid hours per intensive PA hour: a live-in "
                                   "or sleep-in PA covers long hours for less than waking "
                                   "agency staff; no 2008 figure"),
    "behaviour.pa_max_hours": ((10.0, 168.0), "how many hours of personal assistants one "
                               "person can recruit and manage (cover for holidays, sickness, "
                               "nights): unobserved"),
    "policy.signoff_margin": ((0.0, 0.5), "how far councils funded a support plan above the "
                              "indicative RAS budget at sign-off: practice varied, no figure"),
    "behaviour.control_managed": ((0.2, 0.85), "how much control a council-managed budget "
                                  "gives: between traditional and a direct payment, unmeasured"),
    "users.autonomy_alpha": ((0.5, 6.0), "how many people want control of their care: "
                             "unobserved (Beta shape; b fixed at 1.5)"),
}
FIXED = [
    ("policy.pb_share_start, policy.pb_target, policy.rollout_months", "13% -> 30% by April 2011",
     "Demos, Personal Best (2010)"),
    ("council.planning_duration_weeks", "10-11 weeks (2-3 months of planning)",
     "West Sussex pilot (2007)"),
    ("council.block_price_*, market.spot_price_*, market.price_pa", "2010 unit costs",
     "PSSRU Unit Costs 2010"),
    ("market.wage_floor", "£5.93/hour", "National Minimum Wage, October 2010"),
    ("users.groups.*.share", "client group mix", "NHS Information Centre 2009-10"),
]
SCENARIO = "making_it_personal"


def fitted_targets():
    """The targets the loss fits: the registry's role=calibration entries that are not input
    checks (``sim/data/targets.yaml``; see ``sim.targets``).  Each must be a ``within`` check
    on the calibration scenario, computable from the runs' summaries."""
    out = targets.fitted()
    for t in out:
        if t.scenario != SCENARIO:
            raise SystemExit(f"error: target '{t.id}' is fitted (role: calibration, no input) but "
                             f"compares scenario '{t.scenario}'; calibration runs '{SCENARIO}' only")
        if t.check != "within":
            raise SystemExit(f"error: target '{t.id}' is fitted but is a direction check "
                             f"('{t.check}'); a fitted target needs a value and a tolerance")
        if targets.needs_timeseries(t):
            raise SystemExit(f"error: target '{t.id}' is fitted but its analogue needs the time "
                             "series, which the calibration sweep does not load")
    return out



def lhs(n: int, bounds: dict, seed: int) -> pd.DataFrame:
    from scipy.stats import qmc

    lo = np.array([b[0] for b in bounds.values()])
    hi = np.array([b[1] for b in bounds.values()])
    x = qmc.LatinHypercube(d=len(bounds), seed=seed).random(n)
    return pd.DataFrame(qmc.scale(x, lo, hi), columns=list(bounds))


def loss(frame: pd.DataFrame) -> pd.Series:
    """Sum over the fitted targets of ((model - target) / tolerance)^2; ``frame`` has one
    column per target id (the model's analogue, mean over seeds)."""
    total = 0.0
    for t in fitted_targets():
        total = total + ((pd.to_numeric(frame[t.id], errors="coerce").fillna(1e9) - t.value)
                         / t.width) ** 2
    return total


def evaluate(out: Path, stage: str, design: pd.DataFrame, seeds: str, extra) -> pd.DataFrame:
    res = run_design(out / stage, design, [f"scenario={SCENARIO}", *extra], seeds)
    fit = fitted_targets()
    cols = pd.DataFrame({t.id: targets.analogue(t, res) for t in fit}, index=res.index)
    means = cols.groupby(res["design_row"]).mean()
    means["loss"] = loss(means)
    return design.join(means, how="inner")


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sim.calibrate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--points", type=int, default=100, help="Latin-hypercube points per stage")
    ap.add_argument("--seeds", type=int, default=2, help="seeds per point")
    ap.add_argument("--stages", type=int, default=4, help="search stages (each narrower)")
    ap.add_argument("--seed", type=int, default=20081, help="seed of the designs")
    ap.add_argument("--out", type=Path, default=Path("outputs/calibration"),
                    help="sweep folders of the stages")
    ap.add_argument("--write", action=argparse.BooleanOptionalAction, default=True,
                    help="write configs/calibration/demos_2008.yaml and docs/calibration.md")
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    a = ap.parse_args(argv)
    seeds = f"range(0,{a.seeds})"
    bounds = {k: v[0] for k, v in FREE.items()}
    # The search must not start from a previous calibration: run from the schema defaults.
    extra = ["calibration=none", *a.overrides]
    # One folder per version of the model: a rerun resumes, a changed model starts afresh.
    from .results import model_fingerprint

    out = a.out / model_fingerprint()
    stages = [evaluate(out, "stage1", lhs(a.points, bounds, a.seed), seeds, extra).assign(stage=1)]
    # Later stages: a box around the best point so far, a quarter of each range wide at stage
    # 2 and half as wide again at each stage after.
    for k in range(2, a.stages + 1):
        best = pd.concat(stages).sort_values("loss").iloc[0]
        box = {}
        for name, (lo, hi) in bounds.items():
            half = (hi - lo) / (8 * 2 ** (k - 2))
            box[name] = (max(lo, best[name] - half), min(hi, best[name] + half))
        stages.append(evaluate(out, f"stage{k}", lhs(a.points, box, a.seed + k - 1), seeds,
                               extra).assign(stage=k))
    allpts = pd.concat(stages, ignore_index=True)
    best = allpts.sort_values("loss").iloc[0]
    print(allpts.sort_values("loss").head(5).to_string())
    if a.write:
        write_outputs(best, allpts, a)
    return 0


def write_outputs(best, allpts, a):
    lines = ["# @package _global_",
             "# Generated by `python -m sim.calibrate` (see docs/calibration.md): the free",
             "# behavioural parameters fitted to Demos, Making it Personal (2008). Edit by rerunning."]
    nested: dict = {}
    for key in FREE:
        node = nested
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = round(float(best[key]), 4)

    def emit(d, indent=0):
        for k, v in d.items():
            if isinstance(v, dict):
                lines.append("  " * indent + f"{k}:")
                emit(v, indent + 1)
            else:
                lines.append("  " * indent + f"{k}: {v}")
    emit(nested)
    path = ROOT / "configs" / "calibration" / "demos_2008.yaml"
    atomic_write(path, lambda p: p.write_text("\n".join(lines) + "\n"))

    md = ["# Calibration", "",
          f"Generated by `python -m sim.calibrate --points {a.points} --seeds {a.seeds} "
          f"--stages {a.stages} --seed {a.seed}` (scenario `{SCENARIO}`): a Latin hypercube of "
          f"{a.points} points over the free parameters, then at each later stage {a.points} "
          "more in a box around the best so far (a quarter of each range wide, then half as "
          f"wide at each stage); {a.seeds} seed(s) per point; {len(allpts)} points in all. "
          "The best point "
          "is written to `configs/calibration/demos_2008.yaml`, which every scenario loads "
          "(`calibration=none` runs the uncalibrated schema defaults).", "",
          "## Free parameters", "", "| parameter | range | why free | calibrated |",
          "|---|---|---|---|"]
    for k, ((lo, hi), why) in FREE.items():
        md.append(f"| `{k}` | [{lo}, {hi}] | {why} | {best[k]:.4g} |")
    md += ["", "## Fixed from evidence", "", "| parameters | value | source |", "|---|---|---|"]
    md += [f"| `{k}` | {v} | {s} |" for k, v, s in FIXED]
    md += ["", "Every other parameter keeps its documented default ([parameters.md]"
           "(parameters.md)).", "", "## Fit at the best point", "",
           "The fitted targets are the registry's role=calibration entries that are not input "
          "checks (`sim/data/targets.yaml`, loaded by `sim.targets`).", "",
          "| target | model analogue | evidence | model (mean of seeds) | tolerance | source |",
          "|---|---|---|---|---|---|"]
    for t in fitted_targets():
        md.append(f"| `{t.id}` | `{t.analogue_name}` | {t.value:g} | {best[t.id]:.4g} | "
                  f"{t.tolerance_text()} | {t.source.cite()}: {t.figure} |")
    md += ["", f"Loss (sum of squared standardised errors): {best['loss']:.2f}.", "",
           "The validation report ([validation.md](validation.md)) checks the calibrated model "
           "over 20 seeds per scenario in two tables: this fit (with the input checks: figures "
           "the scenarios' inputs are set from) and the out-of-sample predictions of the "
           "role=validation targets, which this search never sees.", ""]
    atomic_write(ROOT / "docs" / "calibration.md", lambda p: p.write_text("\n".join(md)))


if __name__ == "__main__":
    sys.exit(main())
