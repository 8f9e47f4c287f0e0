"""Sweep report (sim/report.py): readable numbers, numeric order, figures' axes and legends."""

from types import SimpleNamespace

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from sim import report  # noqa: E402
from sim.report import comparison_table, count, money, share, sig  # noqa: E402


@pytest.mark.parametrize("fn,x,expect", [
    (money, 1.61e4, "£16,100"), (money, 5.27e8, "£527m"), (money, -38314.0, "-£38,300"),
    (money, 2.3e9, "£2.30bn"), (money, 13.2, "£13.20"), (money, float("nan"), "—"),
    (share, 0.297, "29.7%"), (share, 0.0605, "6.05%"), (share, 1.0, "100%"),
    (share, None, "—"), (count, 12345, "12,345"), (count, 2.8, "2.8"), (count, 1000.0, "1,000"),
    (sig, 1.61e4, "16,100"), (sig, 1e-9, "0"), (sig, 123456789.0, "123,000,000"),
])
def test_cell_formats(fn, x, expect):
    assert fn(x) == expect


def test_money_shares_a_unit_across_mean_and_interval():
    assert [money(v, ref=1.03e6) for v in (9.83e5, 1.03e6)] == ["£0.983m", "£1.03m"]


def _sweep(months=("12", "24", "3", "6"), staff=("2", "6", "12"), seeds=2, weeks=12):
    """A fake sweep store: overrides as text (as the store holds them), numbers per run."""
    rows, ts = [], []
    rng = np.random.default_rng(0)
    dates = pd.date_range("2010-04-05", periods=weeks, freq="W-MON")
    for m in months:
        for s in staff:
            for seed in range(seeds):
                key = f"{m}-{s}-{seed}"
                rows.append({"run_key": key, "ov.policy.rollout_months": m,
                             "ov.council.planning_staff": s, "ov.seed": str(seed),
                             "pb_share_end": 0.3, "annual_cost_pb_mean": 16100.0 + seed,
                             "annual_cost_traditional_mean": 18200.0,
                             "package_saving_pct_mean": 3.85, "worse_off_share": 0.629,
                             "provider_exits": 2.0 + seed, "providers_end": 1234.0,
                             "hhi_end": 57.3, "council_spend_total": 5.27e8,
                             # nobody measured in this run: a missing value
                             "package_saving_pct_top_decile": np.nan})
                ts.append(pd.DataFrame({"run_key": key, "date": dates, "council": 0,
                                        "pb_share": np.linspace(0, 0.3, weeks),
                                        "funded_community": 1000,
                                        "spend_total": 1e6 + rng.normal(0, 1e4, weeks),
                                        "providers": 800 + rng.integers(0, 5, weeks)}))
    return SimpleNamespace(summary=pd.DataFrame(rows), timeseries=pd.concat(ts),
                           failed=pd.DataFrame())


def test_rows_sorted_numerically_not_as_text():
    res = _sweep()
    axes = report.swept_axes(res.summary)
    table = comparison_table(res.summary, axes)
    months = table["ov.policy.rollout_months"].tolist()
    assert months == sorted(months) and months[0] == 3 and months[-1] == 24
    # A missing value in an axis (an ad hoc sweep) still sorts the numbers numerically.
    s = res.summary.copy()
    s.loc[s["ov.policy.rollout_months"] == "6", "ov.policy.rollout_months"] = None
    t = comparison_table(s, ["ov.policy.rollout_months"])
    assert [str(v) for v in t["ov.policy.rollout_months"]][:3] == ["3", "12", "24"]


def test_markdown_has_no_scientific_notation_or_nan(tmp_path, monkeypatch):
    res = _sweep()
    monkeypatch.setattr(report, "load", lambda _d: res)
    out = report.make_report(tmp_path / "sweep", tmp_path / "rep")
    md = (out / "table.md").read_text()
    assert "e+" not in md and "nan" not in md.lower()
    assert "£16,100" in md and "£527m" in md and "62.9%" in md and "1,234" in md
    assert "—" in md and "no value" in md          # the missing column, and its note
    body = [line.split("|")[1:3] for line in md.splitlines() if line.startswith("| ")][1:]
    assert [int(m) for m, _ in body] == sorted(int(m) for m, _ in body)


def _capture_figures(monkeypatch):
    figs = []

    def keep(fig, path):
        fig.canvas.draw()
        figs.append((path.name, fig))
        return path
    monkeypatch.setattr(report, "_save", keep)
    return figs


def _legend_outside(ax):
    leg = ax.get_legend()
    assert leg is not None
    r = ax.figure.canvas.get_renderer()
    return not leg.get_window_extent(r).overlaps(ax.get_window_extent(r))


def test_fan_charts_dates_colours_legend_and_money_axis(tmp_path, monkeypatch):
    figs = _capture_figures(monkeypatch)
    res = _sweep()
    axes = report.swept_axes(res.summary)
    report.fan_charts(res, axes, tmp_path)
    assert {n for n, _ in figs} == {"fan_pb_share.png", "fan_spend_total.png",
                                    "fan_providers.png"}
    for name, fig in figs:
        ax = fig.axes[0]
        assert isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter), name
        assert _legend_outside(ax), name
        lines = ax.get_lines()
        assert len(lines) == 12
        assert len({tuple(ln.get_color()) if not isinstance(ln.get_color(), str)
                    else ln.get_color() for ln in lines}) == 12, name   # 12 distinct colours
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert [lab.split(",")[0] for lab in labels[::3]] == ["3", "6", "12", "24"]
        ticks = [t.get_text() for t in ax.get_yticklabels()]
        assert not any("e" in t.lower() and any(c.isdigit() for c in t) for t in ticks
                       if "£" not in t)
        assert ax.yaxis.get_offset_text().get_text() == ""
        if name == "fan_spend_total.png":
            assert all(t.startswith(("£", "-£")) for t in ticks if t), ticks
        import matplotlib.pyplot as plt
        plt.close(fig)


def test_heatmaps_in_numeric_order(tmp_path, monkeypatch):
    figs = _capture_figures(monkeypatch)
    res = _sweep()
    report.heatmaps(res.summary, report.swept_axes(res.summary), tmp_path)
    assert figs
    for _, fig in figs:
        ax = fig.axes[0]
        labels = [t.get_text() for t in ax.get_xticklabels()] + \
                 [t.get_text() for t in ax.get_yticklabels()]
        assert labels[:4] == ["3", "6", "12", "24"] or labels[4:] == ["2", "6", "12"]
        assert not any("e+" in t.get_text() for t in ax.texts)
