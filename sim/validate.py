"""``python -m sim.validate``: does the calibrated model reproduce the evidence, and why does a
rollout without support planning fail?

Runs every scenario the targets registry needs (``sim/data/targets.yaml``, loaded by
``sim.targets``) over many seeds (through the sweep machinery: resumable, parallel), and
writes ``docs/validation.md`` with two tables, each giving per target the evidence figure,
its source, the model's analogue (mean and 90% interval over seeds), the tolerance and
pass/fail:

* the calibration fit: the targets ``python -m sim.calibrate`` fits, and the input checks
  (figures a scenario's inputs are set from, whose analogue follows an input almost
  directly: matching them says nothing about behaviour);
* the out-of-sample predictions: the role=validation targets, never fitted.

Then ``personal_best_2010`` and ``quick_fix`` side by side (savings, worse-off share, planning
waits, provider exits), with figures in ``docs/validation/``.

    python -m sim.validate                   # 20 seeds per scenario (a few minutes)
    python -m sim.validate --seeds 3 --out /tmp/val --steps 52   # a fast look

``england`` runs at most three seeds of one year (``LIMITS``): its targets are the national
totals of the first year.  ``--scenario england`` runs only that scenario and prints its
targets' table (no report written):

    python -m sim.validate --scenario england --seeds 1
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from . import targets
from .config import CONFIG_DIR
from .outputs import atomic_write
from .report import fmt, money, pct, share, sig
from .results import load

ROOT = CONFIG_DIR.parent
#: The two scenarios of the planning comparison (besides those the targets need).
COMPARED = ("personal_best_2010", "quick_fix")
SCENARIOS = list(dict.fromkeys([*targets.scenarios(), *COMPARED]))
COMPARE = [("package_saving_pct_mean", "package saving (%)"),
           ("worse_off_share", "share worse off than without the rollout"),
           ("qol_improved_share", "share with better QoL than without the rollout"),
           ("planning_wait_weeks_planned", "weeks from queue to a planned PB"),
           ("planning_wait_weeks_unplanned", "weeks from queue to a PB without a plan"),
           ("queue_length_mean", "people waiting for a planner (weekly mean)"),
           ("conversions_unplanned", "conversions without planning"),
           ("provider_exits", "provider exits"),
           ("unmet_need_share_end", "unmet need share (end)")]
#: Scenarios run with fewer seeds and extra overrides: (most seeds, overrides).  England's
#: targets are national totals of its first year, which vary little between seeds, and a
#: national run takes about a minute a year, so it runs one year, three seeds, with no
#: counterfactual.
LIMITS = {"england": (3, ["steps=52", "output.counterfactual=false"])}
TABLES = (("calibration", "Calibration fit (in sample)",
           "The targets `python -m sim.calibrate` fits (*fitted*), and the input checks (*input*): "
           "figures a scenario's inputs are set from, whose model analogue follows an input almost "
           "directly. A passing input check says the set-up is right, nothing about behaviour; a "
           "failing one says the inputs do not reproduce the figure (or that two sources "
           "disagree)."),
          ("validation", "Out-of-sample predictions (validation)",
           "Figures never used in fitting and not set by any input, predicted by the calibrated "
           "model without re-tuning. Direction checks (`direction: > x`) are used only where the "
           "source gives no number for the quantity."))


def run_scenarios(out: Path, seeds: int, extra: list[str],
                  scenarios: list[str] | None = None) -> dict[str, pd.DataFrame]:
    """Run each scenario (``SCENARIOS``, or ``scenarios``) over ``seeds`` seeds; return its
    runs' summaries with one more column per target of that scenario (named by the target's
    id): the model's analogue."""
    import subprocess

    from .results import model_fingerprint

    res = {}
    for sc in SCENARIOS if scenarios is None else scenarios:
        # One folder per version of the model: a rerun resumes, a changed model starts afresh.
        sweep = out / model_fingerprint() / sc
        most, limited = LIMITS.get(sc, (seeds, []))
        cmd = [sys.executable, "-m", "sim", "-m", f"scenario={sc}",
               f"seed=range(0,{min(seeds, most)})", f"hydra.sweep.dir={sweep.resolve()}",
               "output.figures=false", *limited, *extra]
        subprocess.run(cmd, check=True)
        r = load(sweep)
        res[sc] = add_analogues(sc, r.summary.copy(), lambda r=r: r.timeseries)
    return res


def add_analogues(scenario: str, summary: pd.DataFrame, timeseries) -> pd.DataFrame:
    """``summary`` with a column per registry target of ``scenario`` (named by its id) holding
    the model's analogue; ``timeseries`` is a callable returning the runs' time series (read
    only if a target needs it)."""
    mine = [t for t in targets.load() if t.scenario == scenario]
    ts = timeseries() if any(targets.needs_timeseries(t) for t in mine) else None
    for t in mine:
        summary[t.id] = targets.analogue(t, summary, ts).to_numpy()
    return summary


def _interval(v):
    v = pd.to_numeric(v, errors="coerce").dropna()
    return v.mean(), v.quantile(0.05), v.quantile(0.95)


def _use(t) -> str:
    return "input" if t.is_input_check else ("fitted" if t.fitted else "prediction")


def target_table(res) -> pd.DataFrame:
    """One row per target of the scenarios in ``res``."""
    rows = []
    for t in (t for t in targets.load() if t.scenario in res):
        mean, lo, hi = _interval(res[t.scenario][t.id])
        rows.append({"id": t.id, "role": t.role, "use": _use(t), "scenario": t.scenario,
                     "analogue": t.analogue_name, "unit": t.unit, "value": t.value,
                     "evidence": f"{_evidence(t)} ({t.figure}; {t.year}, {t.place})",
                     "source": f"{t.source.cite()}, {t.where}", "model_mean": mean,
                     "p05": lo, "p95": hi, "tolerance": t.tolerance_text(),
                     "check": t.check, "pass": t.passes(mean)})
    return pd.DataFrame(rows)


def _evidence(t) -> str:
    """The figure as the source gives it: totals (people, £) with separators, others as is."""
    if t.unit in ("people", "hours_week"):
        return f"{t.value:,.0f}"
    return money(t.value, t.value) if t.unit == "gbp" else f"{t.value:g}"


def _fmt(unit: str, x, ref=None) -> str:
    if unit == "share":
        return share(x)
    if unit == "pct":
        return pct(x)
    if unit.startswith("gbp"):
        return money(x, ref)
    return sig(x)


def compare_table(res) -> pd.DataFrame:
    rows = []
    for key, label in COMPARE:
        row = {"measure": label}
        for sc in ("personal_best_2010", "quick_fix"):
            m, lo, hi = _interval(res[sc][key])
            row[sc] = f"{fmt(key, m)} [{fmt(key, lo)}, {fmt(key, hi)}]"
        rows.append(row)
    return pd.DataFrame(rows)


def figures(res, table, out: Path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    t = table[table["check"] == "within"]
    ncol = 6
    nrow = max(1, -(-len(t) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(2.1 * ncol, 3.0 * nrow), squeeze=False)
    colours = {"fitted": "C0", "input": "C7", "prediction": "C2"}
    for ax, (_, r) in zip(axes.flat, t.iterrows(), strict=False):
        ax.bar([0], [r["model_mean"]], yerr=[[r["model_mean"] - r["p05"]], [r["p95"] - r["model_mean"]]],
               color=colours[r["use"]] if r["pass"] else "C3", alpha=0.8, capsize=4)
        ax.axhline(r["value"], color="k", ls="--", lw=1)
        ax.set_xticks([])
        ax.set_title(f"{r['id']}\n({r['use']})", fontsize=6)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(t):]:
        ax.axis("off")
    fig.suptitle("Model (bar, 90% interval over seeds and, with the posterior, draws) vs "
                 "evidence (dashed); blue fitted, grey "
                 "input check, green prediction, red outside tolerance", fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "targets.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, len(COMPARE), figsize=(2.2 * len(COMPARE), 3.4))
    for ax, (key, label) in zip(axes, COMPARE, strict=True):
        vals = [pd.to_numeric(res[sc][key], errors="coerce").dropna()
                for sc in ("personal_best_2010", "quick_fix")]
        ax.boxplot(vals, tick_labels=["planned\nrollout", "quick\nfix"])
        ax.set_title(label, fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle("personal_best_2010 vs quick_fix (same rollout, planning cut back)", fontsize=9)
    fig.tight_layout()
    fig.savefig(out / "quick_fix.png", dpi=110)
    plt.close(fig)


def _target_rows(table) -> list[str]:
    """The rows of a target table as Markdown table lines."""
    lines = []
    for _, r in table.iterrows():
        u, ref = r["unit"], r["value"]
        lines.append(f"| `{r['id']}` | {r['use']} | {r['scenario']} | `{r['analogue']}` | "
                     f"{r['evidence']} | {r['source']} | {_fmt(u, r['model_mean'], ref)} "
                     f"[{_fmt(u, r['p05'], ref)}, {_fmt(u, r['p95'], ref)}] | "
                     f"{r['tolerance']} | {'pass' if r['pass'] else 'FAIL'} |")
    return lines


def target_lines(table) -> str:
    """A target table in Markdown, with its header."""
    return "\n".join(["| target | use | scenario | model analogue | evidence | source | "
                      "model mean [90% interval] | tolerance | result |",
                      "|---|---|---|---|---|---|---|---|---|", *_target_rows(table)])


def markdown(table, comp, seeds, args, posterior: bool = False) -> str:
    how = ("each seed on its own draw of the calibration's posterior "
           "([calibration.md](calibration.md); `posterior.by_seed=true`), so the model's "
           "intervals are posterior predictive: **parameter uncertainty and seed noise**"
           if posterior else
           "every seed on the most likely calibrated parameters "
           "([calibration.md](calibration.md)), so the model's intervals are **seed noise "
           "only**")
    lines = ["# Validation report", "",
             f"Generated by `python -m sim.validate --seeds {seeds}{args}`: each scenario run "
             f"over {seeds} seeds, {how}. Model: mean [5th, 95th percentile] over "
             "seeds. Every figure comes from the targets registry (`sim/data/targets.yaml`), "
             "which gives for each its source, page or section, how it was checked and how the "
             "model's analogue is computed. A target passes when the model's mean is within "
             "its tolerance.", ""]
    for role, title, intro in TABLES:
        part = table[table["role"] == role]
        lines += [f"## {title}", "", intro, "",
                  "| target | use | scenario | model analogue | evidence | source | "
                  "model mean [90% interval] | tolerance | result |",
                  "|---|---|---|---|---|---|---|---|---|"]
        lines += _target_rows(part)
        lines.append("")
        for use in ("fitted", "input", "prediction"):
            sub = part[part["use"] == use]
            if len(sub):
                lines.append(f"* {use}: {int(sub['pass'].sum())} of {len(sub)} within tolerance")
        lines.append("")
    lines += ["![targets](validation/targets.png)",
              "", "## Why a rollout without support planning fails", "",
              "Same council, same 13% -> 30% target within a year; `quick_fix` has a quarter of "
              "the planners, rushed plans and little brokerage. Nothing else differs.", "",
              "| measure | personal_best_2010 | quick_fix |", "|---|---|---|"]
    lines += [f"| {r['measure']} | {r['personal_best_2010']} | {r['quick_fix']} |"
              for _, r in comp.iterrows()]
    lines += ["", "![quick fix](validation/quick_fix.png)", ""]
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sim.validate", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--out", type=Path, default=Path("outputs/validation"), help="sweep folders")
    ap.add_argument("--report", type=Path, default=ROOT / "docs",
                    help="folder for validation.md and validation/ figures")
    ap.add_argument("--posterior", action=argparse.BooleanOptionalAction, default=None,
                    help="each seed on its own posterior draw (default: when the posterior "
                    "ensemble exists)")
    ap.add_argument("--scenario", action="append", choices=SCENARIOS,
                    help="only this scenario's targets (repeatable): prints their table, "
                         "writes no report (e.g. --scenario england --seeds 1)")
    ap.add_argument("overrides", nargs="*", help="extra Hydra overrides for every run")
    a = ap.parse_args(argv)
    from .config import posterior_file

    if a.posterior is None:
        a.posterior = posterior_file().exists()
    overrides = [*a.overrides, *(["posterior.by_seed=true"] if a.posterior else [])]
    if a.scenario:
        table = target_table(run_scenarios(a.out, a.seeds, overrides, a.scenario))
        print(target_lines(table))
        return 0
    res = run_scenarios(a.out, a.seeds, overrides)
    table = target_table(res)
    comp = compare_table(res)
    figures(res, table, a.report / "validation")
    extra = (" " + " ".join(a.overrides)) if a.overrides else ""
    md = markdown(table, comp, a.seeds, extra, a.posterior)
    atomic_write(a.report / "validation.md", lambda p: p.write_text(md))
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
