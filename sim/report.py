"""``python -m sim.report SWEEP_DIR``: compare the settings of a sweep.

Writes, into ``SWEEP_DIR/report/`` (or ``--out``): ``table.md`` and ``table.csv`` (mean and
90% interval over seeds of the headline summary fields, per setting), heatmaps of package
saving, worse-off share and provider exits over the first two swept axes, and fan charts of
PB uptake, council spend and provider count over time by setting.  The report is derived from
the store and can be regenerated at any time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .outputs import atomic_write  # noqa: E402
from .results import load  # noqa: E402

HEADLINE = ["pb_share_end", "annual_cost_pb_mean", "annual_cost_traditional_mean",
            "package_saving_pct_mean", "package_saving_pct_top_decile", "qol_improved_share",
            "worse_off_share", "provider_exits", "providers_end", "hhi_end",
            "unmet_need_share_end", "planning_wait_weeks_mean", "council_spend_total"]
HEATMAPS = [("package_saving_pct_mean", "package saving (%)"),
            ("worse_off_share", "share worse off"), ("provider_exits", "provider exits")]
FANS = [("pb_share", "PB share", "mean"), ("spend_total", "council spend (£/week)", "sum"),
        ("providers", "providers", "sum")]


def swept_axes(summary: pd.DataFrame) -> list[str]:
    """Override columns that vary across runs, seed excluded (seeds are replicates)."""
    return [c for c in summary.columns if c.startswith("ov.") and c != "ov.seed"
            and summary[c].nunique() > 1]


def _num(s: pd.Series):
    out = pd.to_numeric(s, errors="coerce")
    return out if out.notna().all() else s


def comparison_table(summary: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    fields = [f for f in HEADLINE if f in summary.columns]
    summary = summary.assign(**{a: _num(summary[a]) for a in axes})  # 3, 6, 12 (not "12", "3")
    g = summary.groupby(axes, sort=True) if axes else summary.assign(all="all").groupby("all")
    rows = []
    for setting, df in g:
        setting = setting if isinstance(setting, tuple) else (setting,)
        row = dict(zip(axes or ["all"], setting, strict=True))
        row["runs"] = len(df)
        for f in fields:
            v = pd.to_numeric(df[f], errors="coerce").dropna()
            row[f"{f}_mean"] = v.mean()
            row[f"{f}_p05"] = v.quantile(0.05)
            row[f"{f}_p95"] = v.quantile(0.95)
        rows.append(row)
    return pd.DataFrame(rows)


def _markdown(table: pd.DataFrame, axes: list[str]) -> str:
    fields = [c[:-5] for c in table.columns if c.endswith("_mean")]
    head = [a.removeprefix("ov.") for a in (axes or ["all"])] + ["runs"] + fields
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table.to_dict("records"):  # per-column types: 3 and 5 runs, not 3.0 and 5.0
        cells = [str(r[a]) for a in (axes or ["all"])] + [str(r["runs"])]
        for f in fields:
            cells.append(f"{r[f + '_mean']:.3g} [{r[f + '_p05']:.3g}, {r[f + '_p95']:.3g}]")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def heatmaps(summary, axes, out: Path) -> list[Path]:
    if len(axes) < 2:
        return []
    x, y = axes[0], axes[1]
    paths = []
    for field, label in HEATMAPS:
        if field not in summary.columns:
            continue
        df = summary.assign(**{x: _num(summary[x]), y: _num(summary[y]),
                               field: pd.to_numeric(summary[field], errors="coerce")})
        piv = df.pivot_table(index=y, columns=x, values=field, aggfunc="mean")
        fig, ax = plt.subplots(figsize=(6, 4.5))
        im = ax.imshow(piv.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(piv.shape[1]), [str(c) for c in piv.columns])
        ax.set_yticks(range(piv.shape[0]), [str(c) for c in piv.index])
        ax.set_xlabel(x.removeprefix("ov."))
        ax.set_ylabel(y.removeprefix("ov."))
        for (i, j), v in np.ndenumerate(piv.to_numpy(float)):
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", color="w", fontsize=8)
        fig.colorbar(im, ax=ax, label=label)
        extra = f" (mean over seeds{' and ' + ', '.join(a[3:] for a in axes[2:]) if axes[2:] else ''})"
        ax.set_title(label + extra, fontsize=10)
        paths.append(_save(fig, out / f"heatmap_{field}.png"))
    return paths


def fan_charts(res, axes, out: Path) -> list[Path]:
    ts, summ = res.timeseries, res.summary
    if ts.empty:
        return []
    label = summ.set_index("run_key")[axes].astype(str).agg(", ".join, axis=1) if axes else \
        pd.Series("all", index=summ["run_key"])
    paths = []
    for col, ylabel, how in FANS:
        per_run = ts.groupby(["run_key", "date"])[col]
        if how == "sum":
            series = per_run.sum()
        else:  # caseload-weighted mean over councils
            w = ts.set_index(["run_key", "date"])["funded_community"]
            series = (ts.set_index(["run_key", "date"])[col] * w).groupby(level=[0, 1]).sum() / \
                w.groupby(level=[0, 1]).sum()
        wide = series.unstack("date")
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for i, (setting, keys) in enumerate(label.groupby(label).groups.items()):
            block = wide.loc[wide.index.intersection(keys)]
            x = pd.to_datetime(block.columns)
            ax.fill_between(x, block.quantile(0.05), block.quantile(0.95), alpha=0.2, color=f"C{i % 10}")
            ax.plot(x, block.median(), color=f"C{i % 10}", label=setting)
        ax.set_title(f"{ylabel}: median and 90% band over seeds")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7, title=", ".join(a[3:] for a in axes) or None, title_fontsize=7)
        ax.grid(alpha=0.3)
        paths.append(_save(fig, out / f"fan_{col}.png"))
    return paths


def make_report(sweep_dir, out=None, title=None) -> Path:
    res = load(sweep_dir)
    if res.summary.empty:
        raise SystemExit(f"error: no finished runs in {sweep_dir}")
    out = Path(out) if out else Path(sweep_dir) / "report"
    out.mkdir(parents=True, exist_ok=True)
    axes = swept_axes(res.summary)
    table = comparison_table(res.summary, axes)
    atomic_write(out / "table.csv", lambda p: table.to_csv(p, index=False))
    md = (f"# {title or 'Sweep report: ' + Path(sweep_dir).name}\n\n{len(res.summary)} finished runs, "
          f"{len(res.failed)} failed. Cells: mean [5th, 95th percentile] over seeds.\n\n"
          + _markdown(table, axes))
    atomic_write(out / "table.md", lambda p: p.write_text(md))
    heatmaps(res.summary, axes, out)
    fan_charts(res, axes, out)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m sim.report", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("sweep_dir", type=Path, help="a sweep folder (holding store/)")
    ap.add_argument("--out", type=Path, default=None, help="report folder (default SWEEP_DIR/report)")
    a = ap.parse_args(argv)
    try:
        out = make_report(a.sweep_dir, a.out)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"report written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
