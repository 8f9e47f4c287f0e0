"""Presenter-ready figures of one run, aggregated over councils (sums, or weighted means).

Also the shared conventions of every figure the package draws (run figures, sweep reports,
stress tests): dates on time axes by matplotlib's date locator and concise formatter, money
axes in pounds (£15k, £1.2m) without an offset, and legends outside the data area.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.dates as mdates
import matplotlib.pyplot as plt  # headless runs get matplotlib's default non-interactive backend
import pandas as pd
from matplotlib.ticker import FuncFormatter, PercentFormatter, ScalarFormatter

SOURCE = "Source: self-directed care market simulator"


# ---------------------------------------------------------------- shared figure conventions
def gbp(x: float, _pos=None) -> str:
    """Pounds, short: £800, £15k, £1.2m, £3.4bn (axis ticks and compact labels)."""
    if x is None or not math.isfinite(x):
        return ""
    sign, a = ("-" if x < 0 else ""), abs(x)
    for div, suffix in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
        if a >= div:
            v = a / div
            txt = f"{v:.1f}".rstrip("0").rstrip(".") if v < 10 else f"{v:.0f}"
            return f"{sign}£{txt}{suffix}"
    return f"{sign}£{a:.0f}" if a >= 10 or a == 0 else f"{sign}£{a:.2f}".rstrip("0").rstrip(".")


def money_axis(ax, axis: str = "y"):
    """Tick labels in pounds (£15k, £1.2m); no offset or scientific notation."""
    getattr(ax, f"{axis}axis").set_major_formatter(FuncFormatter(gbp))


def plain_axis(ax, axis: str = "y"):
    """Plain numbers: no '1e6' multiplier and no offset."""
    fmt = ScalarFormatter(useOffset=False)
    fmt.set_scientific(False)
    getattr(ax, f"{axis}axis").set_major_formatter(fmt)


def date_axis(ax):
    """Dates on the x axis that do not overlap: automatic locator + concise formatter."""
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def legend_outside(ax, handles=None, labels=None, **kw):
    """A legend to the right of the axes, outside the data area."""
    if handles is None:
        handles, labels = ax.get_legend_handles_labels()
    kw = {"fontsize": 8, "loc": "upper left", "bbox_to_anchor": (1.01, 1.0),
          "borderaxespad": 0.0, "frameon": False, **kw}
    return ax.legend(handles, labels, **kw)


def colours(n: int) -> list:
    """n distinct colours: the 10 of tab10, the 20 of tab20, else evenly spaced on viridis."""
    if n <= 10:
        return [plt.get_cmap("tab10")(i) for i in range(n)]
    if n <= 20:
        cmap = plt.get_cmap("tab20")
        return [cmap(i) for i in list(range(0, 20, 2)) + list(range(1, 20, 2))][:n]
    cmap = plt.get_cmap("viridis")
    return [cmap(i / (n - 1)) for i in range(n)]


# ---------------------------------------------------------------- one run's figures
def national(ts: pd.DataFrame) -> pd.DataFrame:
    """Sum counts and money over councils; weight shares and prices by caseload."""
    g = ts.groupby("date")
    s = g.sum(numeric_only=True)
    w = ts["funded_community"].clip(lower=1)
    wmean = (lambda col: (ts[col] * w).groupby(ts["date"]).sum() /
             w.where(ts[col].notna()).groupby(ts["date"]).sum())
    out = s.copy()
    for col in ("pb_share", "target_share", "spot_price_agency", "spot_price_day", "price_pa",
                "price_community", "block_price_agency", "hhi", "utilisation", "unmet_need_share",
                "carer_strain_mean", "qol_mean", "choice_mean", "planning_wait_weeks"):
        out[col] = wmean(col)
    out["cost_pb_per_user_week"] = (s["spend_direct_payment"] + s["spend_managed_pb"]) / \
        (s["direct_payment"] + s["managed_pb"]).clip(lower=1)
    out["cost_traditional_per_user_week"] = s["spend_traditional"] / s["traditional"].clip(lower=1)
    return out


def _save(fig, path: Path):
    fig.text(0.99, 0.01, SOURCE, ha="right", va="bottom", fontsize=7, color="grey")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_figures(ts: pd.DataFrame, out: Path) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = national(ts)
    x = pd.to_datetime(n.index)
    paths = []

    def panel(name, title, series, ylabel, kind="line", money=False, percent=False):
        fig, ax = plt.subplots(figsize=(8.5, 4))
        if kind == "area":
            ax.stackplot(x, *[n[c] for c, _ in series], labels=[lab for _, lab in series])
            handles, labels = ax.get_legend_handles_labels()
            # top of the stack first, as the eye reads it
            legend_outside(ax, handles[::-1], labels[::-1])
        else:
            for col, lab in series:
                ax.plot(x, n[col], label=lab)
            legend_outside(ax)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        date_axis(ax)
        if percent:
            ax.yaxis.set_major_formatter(PercentFormatter(1.0))
        else:
            money_axis(ax) if money else plain_axis(ax)
        p = out / f"{name}.png"
        _save(fig, p)
        paths.append(p)

    panel("uptake", "Personal budget uptake vs target",
          [("pb_share", "PB share of council-funded users"), ("target_share", "target")], "share",
          percent=True)
    panel("spend_by_route", "Council spend by route (weekly)",
          [("spend_traditional", "traditional"), ("spend_direct_payment", "direct payments (net)"),
           ("spend_managed_pb", "managed PB"), ("spend_residential", "residential"),
           ("spend_planning", "support planning"), ("spend_brokerage", "brokerage")],
          "£ / week", kind="area", money=True)
    panel("cost_by_route", "Council cost per user by route",
          [("cost_traditional_per_user_week", "traditional"), ("cost_pb_per_user_week", "personal budget")],
          "£ / user / week", money=True)
    # Providers by type (log scale) above, concentration below: one y axis each, no twin axis.
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8.5, 5.2), sharex=True,
                                  gridspec_kw={"height_ratios": (2, 1)})
    for col in ("providers_agency", "providers_day", "providers_pa", "providers_community",
                "providers_residential"):
        ax.plot(x, n[col], label=col.removeprefix("providers_"))
    ax.set_title("Providers serving the area, by type, and market concentration")
    ax.set_ylabel("providers (log scale)")
    ax.set_yscale("log")
    ax.grid(alpha=0.3)
    legend_outside(ax)
    ax2.plot(x, n["hhi"], "k-", label="HHI")
    ax2.set_ylabel("HHI (0-10,000)")
    ax2.grid(alpha=0.3)
    plain_axis(ax2)
    legend_outside(ax2)
    date_axis(ax2)
    p = out / "providers_hhi.png"
    _save(fig, p)
    paths.append(p)
    panel("prices", "Prices", [("spot_price_agency", "agency spot"), ("block_price_agency", "agency block"),
                               ("price_pa", "personal assistant"), ("spot_price_day", "day service")],
          "£ / hour")
    panel("outcomes", "Outcomes of council-funded users",
          [("qol_mean", "quality of life"), ("choice_mean", "choice and control")], "index (0-1)")
    panel("unmet_need", "Unmet need", [("unmet_need_share", "share of eligible need not met")], "share",
          percent=True)
    panel("carers", "Family carers", [("carer_strain_mean", "mean strain")], "strain (0-1)")
    panel("planning", "Support planning", [("queue_length", "waiting"), ("in_planning", "in planning"),
                                          ("conversions_unplanned", "unplanned conversions / week")],
          "people")
    return paths
