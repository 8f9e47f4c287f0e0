"""``python -m sim.stress``: stress-test one care provider against demand scenarios.

The provider, described in a small YAML file, is placed into the simulated market as a real
provider agent (it competes for spot demand, holds its block contract, pays its wage and
overheads, sets its prices and staffing, and exits when its cash runs out), and the market is
run under each named scenario for many seeds.

    python -m sim.stress provider=examples/home_care_agency.yaml \\
        stress=fast_uptake,block_ends,wage_rise,demand_shock seeds=50

Options (key=value): ``provider`` (YAML file, required), ``stress`` (comma-separated, default
all; ``baseline`` and ``combined`` are always added), ``seeds`` (default 50), ``steps`` (weeks,
default 156), ``out`` (folder; default ``outputs/stress/<provider>-<time>``), plus any model
override (e.g. ``council.n_users=5000``).  Writes ``table.md``/``table.csv``, fan charts and a
one-page ``summary.md`` for a board.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .codes import WEEKS_PER_YEAR
from .outputs import atomic_write

TYPES = ("agency", "day", "pa", "community")


@dataclass
class ProviderSpec:
    """A provider's own description (every field required)."""

    name: str
    type: str
    staffed_hours: float      # billable hours/week
    wage: float               # £/hour
    overheads: float          # £/week
    spot_price: float         # £/hour
    block_price: float        # £/hour
    block_share: float        # share of hours under block contract (0-1)
    block_end_week: int       # week the block contract ends
    cash_reserves: float      # £
    councils: list = field(default_factory=lambda: [0])


RULES = {"staffed_hours": (1, 1e6), "wage": (0, 1000), "overheads": (0, 1e8),
         "spot_price": (0, 1000), "block_price": (0, 1000), "block_share": (0, 1),
         "block_end_week": (0, 5200), "cash_reserves": (-1e9, 1e10)}


class ProviderFileError(ValueError):
    pass


def load_provider(path) -> ProviderSpec:
    """Read and check a provider file; errors name the field and what is allowed."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ProviderFileError(f"provider file {path} cannot be read: {exc}") from None
    if not isinstance(raw, dict):
        raise ProviderFileError(f"{path}: expected a mapping of fields, got {type(raw).__name__}")
    names = [f.name for f in dataclasses.fields(ProviderSpec)]
    unknown = sorted(set(raw) - set(names))
    missing = [n for n in names if n not in raw and n != "councils"]
    errors = [f"unknown field {k!r} (allowed: {', '.join(names)})" for k in unknown]
    errors += [f"missing field {k!r}" for k in missing]
    if "type" in raw and raw["type"] not in TYPES:
        errors.append(f"type={raw['type']!r} is not allowed; choose one of {list(TYPES)}")
    for k, (lo, hi) in RULES.items():
        if k in raw:
            v = raw[k]
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                errors.append(f"{k}={v!r} must be a number")
            elif not lo <= v <= hi:
                errors.append(f"{k}={v!r} is out of range; allowed [{lo:g}, {hi:g}]")
    if "councils" in raw and (not isinstance(raw["councils"], list) or not raw["councils"] or
                              not all(isinstance(c, int) and c >= 0 for c in raw["councils"])):
        errors.append(f"councils={raw['councils']!r} must be a non-empty list of council indices")
    if errors:
        raise ProviderFileError(f"{path}: " + "; ".join(errors))
    return ProviderSpec(**raw)


def scenarios(spec: ProviderSpec, chosen: list[str]) -> dict[str, dict]:
    """Each stress scenario as model overrides plus changes to the provider's own contract."""
    all_ = {
        # PB uptake much faster than planned: 60% within six months.
        "fast_uptake": {"overrides": {"policy.pb_target": 0.6, "policy.rollout_months": 6.0}},
        # The council ends this provider's block contract after a quarter, and renews no blocks.
        "block_ends": {"overrides": {"policy.renew_blocks": False}, "block_end_week": 13},
        # Wage floor +10% over the going wage, fees frozen.
        "wage_rise": {"overrides": {"market.wage_floor": "WAGE_PLUS_10", "council.fee_uplift": 0.0}},
        # Everyone's need 15% higher.
        "demand_shock": {"overrides": {"users.need_scale": "NEED_PLUS_15"}},
    }
    unknown = [s for s in chosen if s not in all_]
    if unknown:
        raise SystemExit(f"error: unknown stress scenario(s) {unknown}; choose from {list(all_)}")
    out = {"baseline": {"overrides": {}}}
    out.update({s: all_[s] for s in chosen})
    combined = {"overrides": {}}
    for s in chosen:
        combined["overrides"].update(all_[s]["overrides"])
        combined.update({k: v for k, v in all_[s].items() if k != "overrides"})
    out["combined"] = combined
    return out


def run_one(spec: ProviderSpec, scenario: dict, seed: int, steps: int, extra: dict) -> pd.DataFrame:
    from .codes import PROVIDER_TYPES
    from .config import compose
    from .model import CareMarketModel
    from .providers import add_providers

    base = compose(*[f"{k}={v}" for k, v in extra.items()], f"seed={seed}", f"steps={steps}",
                   "output.figures=false")
    ov = {}
    for k, v in scenario["overrides"].items():
        if v == "WAGE_PLUS_10":
            v = round(1.1 * max(base.market.wage, base.market.wage_floor, spec.wage), 4)
        elif v == "NEED_PLUS_15":
            v = round(1.15 * base.users.need_scale, 4)
        ov[k] = v
    cfg = compose(*[f"{k}={v}" for k, v in {**extra, **ov}.items()], f"seed={seed}",
                  f"steps={steps}", "output.figures=false")
    model = CareMarketModel(cfg)
    bad = [c for c in spec.councils if c >= model.council.n]
    if bad:
        raise ProviderFileError(f"councils={spec.councils}: council(s) {bad} do not exist; this "
                                f"scenario has councils 0..{model.council.n - 1}")
    ptype = PROVIDER_TYPES.index(spec.type)
    home = spec.councils[0]
    row = add_providers(model, np.array([ptype], np.int8), np.array([home], np.int32),
                        np.array([spec.staffed_hours], float), np.array([spec.spot_price], float),
                        model.rng)[0]
    p, e = model.providers, model.edges
    p.overhead[row] = spec.overheads
    p.cash[row] = spec.cash_reserves
    p.own_wage[row] = spec.wage
    p.delivered_ema[row] = spec.staffed_hours / (1 + cfg.market.capacity_slack)
    for c in spec.councils[1:]:
        new = e.add(1)
        e.provider[new], e.council[new] = row, c
    home_edge = np.flatnonzero(e.active & (e.provider == row) & (e.council == home))[0]
    if spec.block_share > 0 and spec.block_price > 0:
        e.block_volume[home_edge] = spec.block_share * spec.staffed_hours
        e.block_price[home_edge] = spec.block_price
        e.block_end[home_edge] = scenario.get("block_end_week", spec.block_end_week)
    uid = p.uid[row]
    rows = []
    for t in range(1, steps + 1):
        model.step()
        alive = bool(p.active[row] and p.uid[row] == uid)
        rev = p.revenue[row] if alive else 0.0
        cost = p.cost[row] if alive else 0.0
        rows.append({"step": t, "alive": alive, "revenue": rev,
                     "utilisation": p.delivered[row] / max(p.capacity_cleared[row], 1e-9) if alive else 0.0,
                     "margin": (rev - cost) / rev if alive and rev > 0 else np.nan,
                     "cash": p.cash[row] if alive else np.nan,
                     "block_revenue": p.block_revenue[row] if alive else 0.0})
        if not alive:
            rows[-1]["exit_step"] = t
            break
    df = pd.DataFrame(rows)
    df["seed"] = seed
    return df


def _summarise(runs: dict[str, list[pd.DataFrame]], steps: int) -> pd.DataFrame:
    rows = []
    for sc, dfs in runs.items():
        exits = np.array([d.loc[~d["alive"], "step"].min() if (~d["alive"]).any() else np.inf
                          for d in dfs])
        live = pd.concat(dfs)
        live = live[live["alive"]]
        cash_end = np.array([d["cash"].dropna().iloc[-1] if d["alive"].all() else 0.0 for d in dfs])
        row = {"scenario": sc, "seeds": len(dfs),
               "revenue_week_median": live["revenue"].median(),
               "utilisation_median": live["utilisation"].median(),
               "margin_median": live["margin"].median(),
               "cash_end_median": np.median(cash_end),
               "cash_end_p05": np.quantile(cash_end, 0.05),
               "weeks_to_insolvency_median": float(np.median(exits[np.isfinite(exits)]))
               if np.isfinite(exits).any() else None}
        for years in (1, 2, 3):
            if years * WEEKS_PER_YEAR <= steps:
                row[f"p_exit_{years}y"] = float((exits <= years * WEEKS_PER_YEAR).mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _fans(runs, out: Path, steps: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for col, label in (("revenue", "weekly revenue (£)"), ("cash", "cash reserves (£)"),
                       ("utilisation", "utilisation")):
        fig, ax = plt.subplots(figsize=(8, 4.2))
        for i, (sc, dfs) in enumerate(runs.items()):
            wide = pd.DataFrame({d["seed"].iloc[0]: d.set_index("step")[col] for d in dfs}) \
                .reindex(range(1, steps + 1))
            if col != "cash":
                wide = wide.fillna(0.0)      # an exited provider earns nothing
            x = wide.index
            ax.fill_between(x, wide.quantile(0.05, axis=1), wide.quantile(0.95, axis=1),
                            alpha=0.15, color=f"C{i}")
            ax.plot(x, wide.median(axis=1), color=f"C{i}", label=sc)
        ax.set_xlabel("week")
        ax.set_ylabel(label)
        ax.set_title(f"{label}: median and 90% band over seeds")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / f"fan_{col}.png", dpi=110)
        plt.close(fig)


def _money(x) -> str:
    return f"-£{-x:,.0f}" if x < 0 else f"£{x:,.0f}"


def _board_summary(spec, table, steps, seeds) -> str:
    t = table.set_index("scenario")
    worst = t["p_exit_3y" if "p_exit_3y" in t else t.columns[-1]].idxmax()
    lines = [f"# Stress test: {spec.name}", "",
             f"{spec.type}, {spec.staffed_hours:g} staffed hours/week, wage £{spec.wage:.2f}/hour, "
             f"overheads £{spec.overheads:,.0f}/week, cash £{spec.cash_reserves:,.0f}; "
             f"{spec.block_share:.0%} of hours under a block contract at £{spec.block_price:.2f} "
             f"(spot £{spec.spot_price:.2f}). {seeds} simulated futures per scenario, "
             f"{steps} weeks each, in the simulated market of the default council.", "",
             "| scenario | median weekly revenue | median margin | cash at end (median / 5th pct) "
             "| chance of exit in 1 / 2 / 3 years |", "|---|---|---|---|---|"]
    for sc, r in t.iterrows():
        p = " / ".join(f"{r.get(f'p_exit_{y}y', float('nan')):.0%}" for y in (1, 2, 3))
        lines.append(f"| {sc} | {_money(r['revenue_week_median'])} | {r['margin_median']:.1%} | "
                     f"{_money(r['cash_end_median'])} / {_money(r['cash_end_p05'])} | {p} |")
    lines += ["", f"Most dangerous scenario: **{worst}**.", "",
              "![revenue](fan_revenue.png)", "", "![cash](fan_cash.png)", "",
              "Method: the provider is an agent in the simulated market; scenarios are defined in "
              "`sim/stress.py`. Figures are model results, not forecasts.", ""]
    return "\n".join(lines)


def parse_args(argv):
    opts = {"stress": "fast_uptake,block_ends,wage_rise,demand_shock", "seeds": "50",
            "steps": "156"}
    extra = {}
    for a in argv:
        if a in ("-h", "--help"):
            print(__doc__)
            raise SystemExit(0)
        if "=" not in a:
            raise SystemExit(f"error: expected key=value, got {a!r} (see --help)")
        k, v = a.split("=", 1)
        if k in ("provider", "stress", "seeds", "steps", "out"):
            opts[k] = v
        else:
            extra[k] = v
    if "provider" not in opts:
        raise SystemExit("error: provider=FILE is required (see --help)")
    return opts, extra


def main(argv=None):
    from joblib import Parallel, delayed

    opts, extra = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        spec = load_provider(opts["provider"])
    except ProviderFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    seeds, steps = int(opts["seeds"]), int(opts["steps"])
    chosen = [s for s in opts["stress"].split(",") if s]
    scs = scenarios(spec, chosen)
    stamp = dt.datetime.now().strftime("%Y-%m-%d_%H-%M-%S_%f")
    slug = "".join(ch if ch.isalnum() else "_" for ch in spec.name.lower())
    out = Path(opts.get("out") or f"outputs/stress/{slug}-{stamp}")
    if (out / "summary.md").exists():
        print(f"error: {out} already holds a finished stress test; choose another out=",
              file=sys.stderr)
        return 3
    jobs = [(sc, s) for sc in scs for s in range(seeds)]
    try:
        from tqdm import tqdm

        gen = Parallel(n_jobs=-1, return_as="generator")(
            delayed(run_one)(spec, scs[sc], s, steps, extra) for sc, s in jobs)
        results = list(tqdm(gen, total=len(jobs), desc="stress", unit="run"))
    except ProviderFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runs: dict[str, list] = {sc: [] for sc in scs}
    for (sc, _), df in zip(jobs, results, strict=True):
        runs[sc].append(df)
    out.mkdir(parents=True, exist_ok=True)
    table = _summarise(runs, steps)
    atomic_write(out / "table.csv", lambda p: table.to_csv(p, index=False))
    atomic_write(out / "table.md", lambda p: p.write_text(table.to_markdown(index=False,
                                                                          floatfmt=".3g")))
    _fans(runs, out, steps)
    atomic_write(out / "summary.md", lambda p: p.write_text(_board_summary(spec, table, steps,
                                                                           seeds)))
    print(table.to_string(index=False))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
