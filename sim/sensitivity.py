"""``python -m sim.sensitivity``: which levers matter? A Morris (or Sobol) screening with SALib.

The design's points run as one Hydra multirun (``design.path``/``design.row`` select a point),
through the same launcher and results store as any sweep, so a sensitivity run can be resumed
after a crash and parallelised or distributed the same way.  Writes ``sensitivity.csv``,
``sensitivity.md`` and ``sensitivity.png`` (mu* with confidence bars per output) into the
sweep folder.

    python -m sim.sensitivity                                   # Morris, 10 trajectories
    python -m sim.sensitivity --trajectories 4 council.n_users=2000 steps=52
    python -m sim.sensitivity --method sobol --samples 64
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .outputs import atomic_write
from .sweep import run_design

# Main policy levers and behavioural parameters, with the ranges screened (units as in
# docs/parameters.md).
PARAMETERS = {
    "policy.rollout_months": (3.0, 24.0),
    "council.planning_staff": (1.0, 12.0),
    "policy.ras_affordability": (0.8, 1.2),
    "policy.block_wind_down": (0.0, 2.0),
    "behaviour.status_quo": (0.0, 0.2),
    "behaviour.price_sensitivity": (0.1, 1.5),
    "behaviour.fit_threshold": (0.2, 0.7),
    "behaviour.community_max_hours": (2.0, 20.0),
    "carers.paid_extra_share": (0.2, 1.0),
    "market.price_adjust": (0.0, 0.03),
}
OUTPUTS = ["package_saving_pct_mean", "worse_off_share", "provider_exits",
           "unmet_need_share_end", "annual_cost_pb_mean"]


def problem():
    return {"num_vars": len(PARAMETERS), "names": list(PARAMETERS),
            "bounds": [list(b) for b in PARAMETERS.values()]}


def design(method: str, n: int, seed: int) -> np.ndarray:
    if method == "morris":
        from SALib.sample import morris
        return morris.sample(problem(), n, num_levels=4, seed=seed)
    from SALib.sample import sobol
    return sobol.sample(problem(), n, calc_second_order=False, seed=seed)


def analyse(method: str, X: np.ndarray, Y: np.ndarray, seed: int) -> pd.DataFrame:
    if method == "morris":
        from SALib.analyze import morris
        r = morris.analyze(problem(), X, Y, num_levels=4, seed=seed)
        return pd.DataFrame({"parameter": r["names"], "mu_star": r["mu_star"],
                             "mu_star_conf": r["mu_star_conf"], "sigma": r["sigma"]})
    from SALib.analyze import sobol
    r = sobol.analyze(problem(), Y, calc_second_order=False, seed=seed)
    return pd.DataFrame({"parameter": list(PARAMETERS), "ST": r["ST"], "ST_conf": r["ST_conf"],
                         "S1": r["S1"], "S1_conf": r["S1_conf"]})


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sim.sensitivity", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--method", choices=["morris", "sobol"], default="morris")
    ap.add_argument("--trajectories", type=int, default=10, help="Morris trajectories")
    ap.add_argument("--samples", type=int, default=64, help="Sobol base samples (power of 2)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the design and of every run")
    ap.add_argument("--sweep-dir", type=Path, default=Path("outputs/sweeps/sensitivity"))
    ap.add_argument("overrides", nargs="*", help="Hydra overrides for every run, e.g. steps=52")
    a = ap.parse_args(argv)

    n = a.trajectories if a.method == "morris" else a.samples
    X = design(a.method, n, a.seed)
    sweep = a.sweep_dir.resolve()
    res = run_design(sweep, pd.DataFrame(X, columns=list(PARAMETERS)), a.overrides, str(a.seed))
    if res["design_row"].nunique() < len(X):
        print(f"error: only {res['design_row'].nunique()} of {len(X)} design points finished; "
              "rerun to resume", file=sys.stderr)
        return 1
    by_row = res.set_index("design_row").sort_index()
    tables = []
    for out in OUTPUTS:
        Y = pd.to_numeric(by_row[out], errors="coerce").fillna(0.0).to_numpy(dtype=float)
        t = analyse(a.method, X, Y, a.seed)
        t.insert(0, "output", out)
        tables.append(t)
    table = pd.concat(tables, ignore_index=True)
    atomic_write(sweep / "sensitivity.csv", lambda p: table.to_csv(p, index=False))
    atomic_write(sweep / "sensitivity.md", lambda p: p.write_text(
        f"# Sensitivity ({a.method}, {len(X)} runs)\n\n" + table.to_markdown(index=False,
                                                                          floatfmt=".3g") + "\n"))
    _plot(table, a.method, sweep / "sensitivity.png")
    print(table.to_string(index=False))
    print(f"written to {sweep}")
    return 0


def _plot(table, method, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    val, err = ("mu_star", "mu_star_conf") if method == "morris" else ("ST", "ST_conf")
    outs = table["output"].unique()
    fig, axes = plt.subplots(1, len(outs), figsize=(3.2 * len(outs), 4.2), sharey=True)
    for ax, out in zip(np.atleast_1d(axes), outs, strict=True):
        t = table[table["output"] == out]
        ax.barh(t["parameter"], t[val], xerr=t[err], color="C0", alpha=0.8)
        ax.set_title(out, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"Sensitivity ({method}: {val} with 95% confidence)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
