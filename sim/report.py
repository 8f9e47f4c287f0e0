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
from matplotlib.ticker import PercentFormatter  # noqa: E402

from .figures import colours, date_axis, legend_outside, money_axis, plain_axis  # noqa: E402
from .outputs import atomic_write  # noqa: E402
from .results import load  # noqa: E402

HEADLINE = ["pb_share_end", "annual_cost_pb_mean", "annual_cost_traditional_mean",
            "package_saving_pct_mean", "package_saving_pct_top_decile", "qol_improved_share",
            "worse_off_share", "provider_exits", "providers_end", "hhi_end",
            "unmet_need_share_end", "planning_wait_weeks_mean", "council_spend_total",
            "block_idle_spend_total", "block_handbacks_total", "people_displaced_total",
            "utilisation_last_year", "utilisation_agency_mean", "spot_price_mean_end",
            "price_council_agency_last_year", "self_funder_premium_agency",
            "day_centres_end", "effect_providers_day_end", "effect_day_centre_closures",
            "worse_off_share_displaced", "effect_qol_mean_displaced",
            "provider_exit_rate_agency", "provider_exit_rate_day", "provider_exit_rate_residential"]
HEATMAPS = [("package_saving_pct_mean", "package saving (%)"),
            ("worse_off_share", "share worse off"), ("provider_exits", "provider exits"),
            ("block_idle_spend_total", "idle block spend (£)"),
            ("block_handbacks_total", "block contracts handed back")]
FANS = [("pb_share", "PB share", "mean"), ("spend_total", "council spend (£ / week)", "sum"),
        ("providers", "providers", "sum"), ("providers_day", "day centres", "sum")]


def swept_axes(summary: pd.DataFrame) -> list[str]:
    """Override columns that vary across runs, seed excluded (seeds are replicates)."""
    return [c for c in summary.columns if c.startswith("ov.") and c != "ov.seed"
            and summary[c].nunique() > 1]


def _num(s: pd.Series):
    out = pd.to_numeric(s, errors="coerce")
    return out if out.notna().all() else s


def sort_key(value):
    """Numbers in numeric order (3, 6, 12, 24), before any text, which sorts as text."""
    try:
        x = float(value)
    except (TypeError, ValueError):
        return (1, 0.0, str(value))
    return (1, 0.0, str(value)) if np.isnan(x) else (0, x, "")


# ---------------------------------------------------------------- cell formats
MISSING = "—"
MISSING_NOTE = f"{MISSING}: no value (e.g. no run had a case to measure)."
# How each headline field is shown: money in £, shares as %, percentages, counts, numbers.
KINDS = {"pb_share_end": "share", "annual_cost_pb_mean": "money",
         "annual_cost_traditional_mean": "money", "package_saving_pct_mean": "pct",
         "package_saving_pct_top_decile": "pct", "qol_improved_share": "share",
         "worse_off_share": "share", "provider_exits": "count", "providers_end": "count",
         "hhi_end": "number", "unmet_need_share_end": "share",
         "planning_wait_weeks_mean": "number", "council_spend_total": "money",
         "block_idle_spend_total": "money", "block_handbacks_total": "count",
         "people_displaced_total": "count", "utilisation_last_year": "share",
         "utilisation_agency_mean": "share", "price_council_agency_last_year": "money",
         "spot_price_mean_end": "money", "self_funder_premium_agency": "share",
         "day_centres_end": "count", "effect_providers_day_end": "count",
         "effect_day_centre_closures": "count", "worse_off_share_displaced": "share",
         "effect_qol_mean_displaced": "number", "provider_exit_rate_agency": "share",
         "provider_exit_rate_day": "share", "provider_exit_rate_residential": "share"}


def _missing(x) -> bool:
    try:
        return x is None or not np.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def sig(x: float, digits: int = 3, max_decimals: int = 3) -> str:
    """x to about ``digits`` significant figures, with thousands separators, never 'e+'."""
    if _missing(x):
        return MISSING
    x = float(x)
    if x == 0:
        return "0"
    decimals = min(max(0, digits - 1 - int(np.floor(np.log10(abs(x))))), max_decimals)
    factor = 10 ** (int(np.floor(np.log10(abs(x)))) - digits + 1)
    if factor >= 1:
        x = round(x / factor) * factor
    out = f"{x:,.{decimals}f}"
    return "0" if float(out.replace(",", "")) == 0 else out


def money(x: float, ref: float | None = None) -> str:
    """Pounds to 3 significant figures: £16,100, £527m, £1.23bn, -£38,300.  The unit (£, m,
    bn) follows ``ref`` when given (so a mean and its interval share one: £0.98m, £1.03m)."""
    if _missing(x):
        return MISSING
    x = float(x)
    sign, a = ("-" if x < 0 else ""), abs(x)
    r = a if _missing(ref) else abs(float(ref))
    if r >= 1e9:
        return f"{sign}£{sig(a / 1e9)}bn"
    if r >= 1e6:
        return f"{sign}£{sig(a / 1e6)}m"
    if a < 100:
        return f"{sign}£{a:.2f}"      # prices and costs per hour: pence
    return f"{sign}£{sig(a, max_decimals=0)}"


def share(x: float) -> str:
    """A share (0-1) as a percentage: 0.297 -> 29.7%."""
    return MISSING if _missing(x) else f"{sig(100 * float(x), max_decimals=2)}%"


def pct(x: float) -> str:
    """A value already in per cent: 3.85 -> 3.85%."""
    return MISSING if _missing(x) else f"{sig(float(x), max_decimals=2)}%"


def count(x: float) -> str:
    """Counts with thousands separators; a mean of counts keeps one decimal (2.8, 1,234)."""
    if _missing(x):
        return MISSING
    x = float(x)
    return f"{x:,.0f}" if x == round(x) or abs(x) >= 100 else f"{x:,.1f}"


FORMATS = {"money": money, "share": share, "pct": pct, "count": count, "number": sig}


def fmt(field: str, x, ref=None) -> str:
    kind = KINDS.get(field, "number")
    return money(x, ref) if kind == "money" else FORMATS[kind](x)


def comparison_table(summary: pd.DataFrame, axes: list[str]) -> pd.DataFrame:
    """One row per setting, in numeric order of the swept values (3, 6, 12, not 12, 3, 6)."""
    fields = [f for f in HEADLINE if f in summary.columns]
    summary = summary.assign(**{a: _num(summary[a]) for a in axes})
    g = summary.groupby(axes, sort=False, dropna=False) if axes else \
        summary.assign(all="all").groupby("all")
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
    rows.sort(key=lambda r: [sort_key(r[a]) for a in (axes or ["all"])])
    return pd.DataFrame(rows)


def _setting(v) -> str:
    """A swept value as written: 3 (not 3.0), text as is, missing as the dash."""
    if isinstance(v, (float, np.floating)):
        return MISSING if np.isnan(v) else (f"{v:,.0f}" if v == round(v) and abs(v) < 1e15
                                            else f"{v:g}")
    return MISSING if v is None else str(v)


def _markdown(table: pd.DataFrame, axes: list[str]) -> str:
    fields = [c[:-5] for c in table.columns if c.endswith("_mean")]
    head = [a.removeprefix("ov.") for a in (axes or ["all"])] + ["runs"] + fields
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table.to_dict("records"):
        cells = [_setting(r[a]) for a in (axes or ["all"])] + [count(r["runs"])]
        for f in fields:
            m, lo, hi = r[f + "_mean"], r[f + "_p05"], r[f + "_p95"]
            ref = np.nanmax(np.abs([float(v) for v in (m, lo, hi) if not _missing(v)] or [0.0]))
            cells.append(MISSING if _missing(m) else
                         f"{fmt(f, m, ref)} [{fmt(f, lo, ref)}, {fmt(f, hi, ref)}]")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


NOTE = ("Money in £ (k thousand, m million, bn billion), shares as % of people, counts as "
        "numbers of providers or runs; " + MISSING_NOTE)


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
        piv = piv.loc[sorted(piv.index, key=sort_key), sorted(piv.columns, key=sort_key)]
        fig, ax = plt.subplots(figsize=(6, 4.5))
        im = ax.imshow(piv.to_numpy(float), origin="lower", aspect="auto", cmap="viridis")
        ax.set_xticks(range(piv.shape[1]), [_setting(c) for c in piv.columns])
        ax.set_yticks(range(piv.shape[0]), [_setting(c) for c in piv.index])
        ax.set_xlabel(x.removeprefix("ov."))
        ax.set_ylabel(y.removeprefix("ov."))
        for (i, j), v in np.ndenumerate(piv.to_numpy(float)):
            light = np.isfinite(v) and im.norm(v) > 0.6      # dark text on viridis' yellows
            ax.text(j, i, fmt(field, v), ha="center", va="center", color="k" if light else "w",
                    fontsize=8)
        cbar = fig.colorbar(im, ax=ax, label=label)
        if KINDS.get(field) == "share":
            cbar.ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        else:
            plain_axis(cbar.ax)
        extra = f" (mean over seeds{' and ' + ', '.join(a[3:] for a in axes[2:]) if axes[2:] else ''})"
        ax.set_title(label + extra, fontsize=10)
        paths.append(_save(fig, out / f"heatmap_{field}.png"))
    return paths


def fan_charts(res, axes, out: Path) -> list[Path]:
    """Median and 90% band over seeds of national series, one colour per setting (in numeric
    order of the swept values), dates on the x axis, the legend outside the data."""
    ts, summ = res.timeseries, res.summary
    if ts.empty:
        return []
    draws = (" (with posterior draws: parameter uncertainty too)"
             if not interval_kind(summ).startswith("seed noise only") else "")
    if axes:
        settings = summ.set_index("run_key")[axes].apply(
            lambda r: tuple(_setting(v) for v in r), axis=1)
    else:
        settings = pd.Series([("all",)] * len(summ), index=summ["run_key"])
    order = sorted(set(settings), key=lambda t: [sort_key(v) for v in t])
    palette = colours(len(order))
    paths = []
    for col, ylabel, how in FANS:
        if col not in ts.columns:     # a store written with fewer time-series columns
            continue
        per_run = ts.groupby(["run_key", "date"])[col]
        if how == "sum":
            series = per_run.sum()
        else:  # caseload-weighted mean over councils
            w = ts.set_index(["run_key", "date"])["funded_community"]
            series = (ts.set_index(["run_key", "date"])[col] * w).groupby(level=[0, 1]).sum() / \
                w.groupby(level=[0, 1]).sum()
        wide = series.unstack("date")
        fig, ax = plt.subplots(figsize=(9, 4.5))
        for colour, setting in zip(palette, order, strict=True):
            keys = settings.index[settings.map(lambda s, t=setting: s == t).to_numpy()]
            block = wide.loc[wide.index.intersection(keys)]
            if block.empty:
                continue
            x = pd.to_datetime(block.columns)
            ax.fill_between(x, block.quantile(0.05), block.quantile(0.95), alpha=0.15,
                            color=colour, linewidth=0)
            ax.plot(x, block.median(), color=colour, label=", ".join(setting))
        ax.set_title(f"{ylabel}: median and 90% band over seeds{draws}")
        ax.set_ylabel(ylabel)
        if col == "spend_total":
            money_axis(ax)
        elif col == "pb_share":
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        else:
            plain_axis(ax)
        date_axis(ax)
        legend_outside(ax, fontsize=7, title=", ".join(a[3:] for a in axes) or None,
                       title_fontsize=7, ncols=1 if len(order) <= 16 else 2)
        ax.grid(alpha=0.3)
        paths.append(_save(fig, out / f"fan_{col}.png"))
    return paths


def interval_kind(summary: pd.DataFrame) -> str:
    """What an interval over a sweep's runs includes: seed noise only (every run on the most
    likely parameters), or parameter uncertainty as well (runs on posterior draws,
    ``posterior.by_seed``)."""
    draws = summary["posterior_draw"] if "posterior_draw" in summary else pd.Series([-1])
    if (draws < 0).all():
        return "seed noise only: every run uses the most likely calibrated parameters"
    n = draws[draws >= 0].nunique()
    if (draws >= 0).all():
        return (f"parameter uncertainty and seed noise: the runs use {n} draws of the "
                "calibration's posterior")
    return (f"mixed: some runs use {n} posterior draws, others the most likely parameters; "
            "read with care")


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
          f"{len(res.failed)} failed. Cells: mean [5th, 95th percentile] over seeds "
          f"({interval_kind(res.summary)}). {NOTE}\n\n" + _markdown(table, axes))
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
