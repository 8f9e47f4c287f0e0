"""Presenter-ready figures of one run, aggregated over councils (sums, or weighted means)."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt  # headless runs get matplotlib's default non-interactive backend
import pandas as pd

SOURCE = "Source: self-directed care market simulator"


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

    def panel(name, title, series, ylabel, kind="line"):
        fig, ax = plt.subplots(figsize=(7, 4))
        if kind == "area":
            ax.stackplot(x, *[n[c] / 1e3 for c, _ in series], labels=[lab for _, lab in series])
        else:
            for col, lab in series:
                ax.plot(x, n[col], label=lab)
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        p = out / f"{name}.png"
        _save(fig, p)
        paths.append(p)

    panel("uptake", "Personal budget uptake vs target",
          [("pb_share", "PB share of council-funded users"), ("target_share", "target")], "share")
    panel("spend_by_route", "Council spend by route (weekly)",
          [("spend_traditional", "traditional"), ("spend_direct_payment", "direct payments (net)"),
           ("spend_managed_pb", "managed PB"), ("spend_residential", "residential"),
           ("spend_planning", "support planning"), ("spend_brokerage", "brokerage")],
          "£ thousand / week", kind="area")
    panel("cost_by_route", "Council cost per user by route",
          [("cost_traditional_per_user_week", "traditional"), ("cost_pb_per_user_week", "personal budget")],
          "£ / user / week")
    fig, ax = plt.subplots(figsize=(7, 4))
    for col in ("providers_agency", "providers_day", "providers_pa", "providers_community",
                "providers_residential"):
        ax.plot(x, n[col], label=col.removeprefix("providers_"))
    ax.set_title("Providers serving the area, by type")
    ax.set_ylabel("providers")
    ax.set_yscale("log")
    ax2 = ax.twinx()
    ax2.plot(x, n["hhi"], "k--", label="HHI (right)")
    ax2.set_ylabel("HHI (0-10,000)")
    ax.legend(fontsize=8, loc="upper left")
    ax2.legend(fontsize=8, loc="upper right")
    p = out / "providers_hhi.png"
    _save(fig, p)
    paths.append(p)
    panel("prices", "Prices", [("spot_price_agency", "agency spot"), ("block_price_agency", "agency block"),
                               ("price_pa", "personal assistant"), ("spot_price_day", "day service")],
          "£ / hour")
    panel("outcomes", "Outcomes of council-funded users",
          [("qol_mean", "quality of life"), ("choice_mean", "choice and control")], "index (0-1)")
    panel("unmet_need", "Unmet need", [("unmet_need_share", "share of eligible need not met")], "share")
    panel("carers", "Family carers", [("carer_strain_mean", "mean strain")], "strain (0-1)")
    panel("planning", "Support planning", [("queue_length", "waiting"), ("in_planning", "in planning"),
                                          ("conversions_unplanned", "unplanned conversions / week")],
          "people")
    return paths
