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


class UsageError(ValueError):
    """A wrong command line: printed as one line, exit status 2, nothing written."""


def _did_you_mean(word: str, choices) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def load_provider(path) -> ProviderSpec:
    """Read and check a provider file; errors name the field and what is allowed."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ProviderFileError(f"provider file {path} cannot be read: {exc.strerror or exc}") \
            from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        what = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ProviderFileError(f"{path}:{where}: not valid YAML ({what})") from None
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
    if "councils" in raw:
        cs = raw["councils"]
        if not isinstance(cs, list) or not cs or not all(
                isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in cs):
            errors.append(f"councils={cs!r} must be a non-empty list of council indices")
        elif len(set(cs)) < len(cs):
            dup = sorted({c for c in cs if cs.count(c) > 1})
            errors.append(f"councils={cs!r} lists council(s) {dup} more than once (each council "
                          f"the provider serves once; a repeat would count its market twice)")
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
        raise UsageError("; ".join(
            f"unknown stress scenario {s!r}{_did_you_mean(s, list(all_))}" for s in unknown)
            + f" (choose from {', '.join(all_)})")
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
    if len(set(spec.councils)) < len(spec.councils):
        raise ProviderFileError(f"councils={spec.councils} lists a council more than once")
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
    cash = float(p.cash[row])
    for t in range(1, steps + 1):
        model.step()
        alive = bool(p.active[row] and p.uid[row] == uid)
        if not alive:
            # The week it left: its row is cleared on exit, so the cash shown is its cash at
            # the end of the week before (already negative when it goes bust; in the exit week
            # it fell below the tolerated overdraft, market.overdraft_weeks of costs).
            rows.append({"step": t, "alive": False, "revenue": 0.0, "utilisation": 0.0,
                         "margin": np.nan, "cash": cash, "block_revenue": 0.0, "cost": 0.0,
                         "delivered": 0.0, "exit_step": t})
            break
        rev, cost, cash = float(p.revenue[row]), float(p.cost[row]), float(p.cash[row])
        rows.append({"step": t, "alive": True, "revenue": rev,
                     "utilisation": p.delivered[row] / max(p.capacity_cleared[row], 1e-9),
                     "margin": (rev - cost) / rev if rev > 0 else np.nan,
                     "cash": cash, "block_revenue": float(p.block_revenue[row]), "cost": cost,
                     "delivered": float(p.delivered[row])})
    df = pd.DataFrame(rows)
    df["seed"] = seed
    return df


def _summarise(runs: dict[str, list[pd.DataFrame]], steps: int) -> pd.DataFrame:
    """One row per scenario.  Cash at the end is the cash in the last week of the run, or, for a
    seed in which the provider became insolvent, its cash at the end of its last week in
    business (never £0)."""
    rows = []
    for sc, dfs in runs.items():
        exits = np.array([d.loc[~d["alive"], "step"].min() if (~d["alive"]).any() else np.inf
                          for d in dfs])
        live = pd.concat(dfs)
        live = live[live["alive"]]
        cash_end = np.array([d["cash"].iloc[-1] for d in dfs], float)
        hours = live["delivered"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            cost_per_hour = np.where(hours > 0, live["cost"].to_numpy(float) / hours, np.nan)
        row = {"scenario": sc, "seeds": len(dfs),
               "revenue_week_median": live["revenue"].median(),
               "utilisation_median": live["utilisation"].median(),
               "margin_median": live["margin"].median(),
               "cost_per_hour_median": float(np.nanmedian(cost_per_hour))
               if np.isfinite(cost_per_hour).any() else np.nan,
               "cash_end_median": np.median(cash_end),
               "cash_end_p05": np.quantile(cash_end, 0.05),
               "insolvent_seeds": int(np.isfinite(exits).sum()),
               "weeks_to_insolvency_median": float(np.median(exits[np.isfinite(exits)]))
               if np.isfinite(exits).any() else np.nan}
        for years in HORIZONS:
            if years * WEEKS_PER_YEAR <= steps:
                row[f"p_exit_{years}y"] = float((exits <= years * WEEKS_PER_YEAR).mean())
        rows.append(row)
    return pd.DataFrame(rows)


HORIZONS = (1, 2, 3)
# table.md: column title and format of each table.csv column.
COLUMNS = {"scenario": ("scenario", str), "seeds": ("seeds", "count"),
           "revenue_week_median": ("median weekly revenue", "money"),
           "utilisation_median": ("median utilisation", "share"),
           "margin_median": ("median margin", "share"),
           "cost_per_hour_median": ("median cost per hour delivered", "money"),
           "cash_end_median": ("cash at end or exit, median", "money"),
           "cash_end_p05": ("cash at end or exit, 5th pct", "money"),
           "insolvent_seeds": ("insolvent seeds", "count"),
           "weeks_to_insolvency_median": ("weeks to insolvency, median", "count"),
           **{f"p_exit_{y}y": (f"chance of exit within {y} year{'s' if y > 1 else ''}", "share")
              for y in HORIZONS}}


def _cell(kind, x) -> str:
    from .report import FORMATS, money

    if kind is str:
        return str(x)
    return money(x) if kind == "money" else FORMATS[kind](x)


def table_markdown(table: pd.DataFrame, steps: int) -> str:
    """table.csv as a readable table: £, %, thousands separators; missing values as a dash."""
    from .report import MISSING

    cols = [c for c in COLUMNS if c in table.columns]
    lines = ["| " + " | ".join(COLUMNS[c][0] for c in cols) + " |", "|" + "---|" * len(cols)]
    for r in table.to_dict("records"):
        lines.append("| " + " | ".join(_cell(COLUMNS[c][1], r[c]) for c in cols) + " |")
    notes = [f"Cash at end or exit: the cash in the last week of the run, or, for a seed in which "
             f"the provider became insolvent, at the end of its last week in business. "
             f"{MISSING}: no value (weeks to insolvency when no seed became insolvent; margin "
             f"when the provider had no revenue)."]
    beyond = [y for y in HORIZONS if y * WEEKS_PER_YEAR > steps]
    if beyond:
        notes.append(f"Chance of exit within {', '.join(map(str, beyond))} year(s): not shown, "
                     f"the run is {steps} weeks.")
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes) + "\n"


def _fans(runs, out: Path, steps: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .figures import colours, legend_outside, money_axis, plain_axis

    palette = colours(len(runs))
    for col, label in (("revenue", "weekly revenue (£)"), ("cash", "cash reserves (£)"),
                       ("utilisation", "utilisation")):
        fig, ax = plt.subplots(figsize=(9, 4.2))
        for colour, (sc, dfs) in zip(palette, runs.items(), strict=True):
            wide = pd.DataFrame({d["seed"].iloc[0]: d.set_index("step")[col] for d in dfs}) \
                .reindex(range(1, steps + 1))
            # An exited provider earns nothing; its cash stays at its value when it left (so
            # the band counts the insolvent seeds rather than showing only the survivors).
            wide = wide.ffill() if col == "cash" else wide.fillna(0.0)
            x = wide.index
            ax.fill_between(x, wide.quantile(0.05, axis=1), wide.quantile(0.95, axis=1),
                            alpha=0.15, color=colour, linewidth=0)
            ax.plot(x, wide.median(axis=1), color=colour, label=sc)
        if col == "cash":
            ax.axhline(0, color="grey", lw=0.8)
        ax.set_xlabel("week")
        ax.set_ylabel(label)
        money_axis(ax) if col != "utilisation" else plain_axis(ax)
        title = f"{label}: median and 90% band over seeds"
        if col == "cash":
            title += "\n(after an insolvency: held at its last value before the provider left)"
        ax.set_title(title, fontsize=10)
        legend_outside(ax)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / f"fan_{col}.png", dpi=110)
        plt.close(fig)


def _pct(x) -> str:
    return "—" if x is None or not np.isfinite(x) else f"{x:.0%}"


def _board_summary(spec, table, steps, seeds) -> str:
    from .report import money, share

    t = table.set_index("scenario")
    horizons = [y for y in HORIZONS if f"p_exit_{y}y" in t]
    # Most dangerous: the highest chance of exit by the longest horizon in the run (all seeds
    # by the end of the run if the run is shorter than a year), then the least cash.
    danger = t["insolvent_seeds"] / t["seeds"] if not horizons else t[f"p_exit_{horizons[-1]}y"]
    worst = pd.DataFrame({"d": danger, "c": -t["cash_end_median"]}).sort_values(
        ["d", "c"], ascending=False).index[0]
    beyond = [y for y in HORIZONS if y not in horizons]
    exit_head = ("chance of exit within " + " / ".join(str(y) for y in horizons) +
                 (" year" if horizons == [1] else " years")) if horizons else \
        f"chance of exit within the run ({steps} weeks)"
    lines = [f"# Stress test: {spec.name}", "",
             f"{spec.type}, {spec.staffed_hours:g} staffed hours/week, wage £{spec.wage:.2f}/hour, "
             f"overheads £{spec.overheads:,.0f}/week, cash £{spec.cash_reserves:,.0f}; "
             f"{spec.block_share:.0%} of hours under a block contract at £{spec.block_price:.2f} "
             f"(spot £{spec.spot_price:.2f}). {seeds} simulated futures per scenario, "
             f"{steps} weeks each, in the simulated market of the default council.", "",
             "| scenario | median weekly revenue | median margin | cash at end or exit* (median / "
             f"5th pct) | insolvent | {exit_head} |", "|---|---|---|---|---|---|"]
    for sc, r in t.iterrows():
        p = " / ".join(_pct(r[f"p_exit_{y}y"]) for y in horizons) if horizons else \
            _pct(r["insolvent_seeds"] / r["seeds"])
        margin = share(r["margin_median"])
        lines.append(f"| {sc} | {money(r['revenue_week_median'])} | {margin} | "
                     f"{money(r['cash_end_median'])} / {money(r['cash_end_p05'])} | "
                     f"{int(r['insolvent_seeds'])} of {int(r['seeds'])} | {p} |")
    lines += ["", "\\* For a future in which the provider became insolvent: its cash at the end of "
              "its last week in business (the next week it fell below its tolerated overdraft "
              "and left), not £0."]
    if beyond:
        said = ", ".join(map(str, beyond[:-1])) + (" and " if beyond[:-1] else "") + str(beyond[-1])
        lines += ["", "Chance of exit within " + said +
                  f" year{'s' if beyond != [1] else ''}: n/a (run is {steps} weeks)."]
    base = t.loc["baseline"] if "baseline" in t.index else None
    for sc, r in t.iterrows():
        if base is None or sc == "baseline" or not r["cash_end_median"] > base["cash_end_median"]:
            continue
        if sc == "block_ends":
            lines += ["", _block_ends_note(spec, base, r)]
        else:
            lines += ["", f"Note: **{sc}** ends with more cash than the baseline "
                      f"({money(r['cash_end_median'])} against {money(base['cash_end_median'])})."]
    lines += ["", f"Most dangerous scenario: **{worst}**.", "",
              "![revenue](fan_revenue.png)", "", "![cash](fan_cash.png)", "",
              "Method: the provider is an agent in the simulated market; scenarios are defined in "
              "`sim/stress.py`. Figures are model results, not forecasts.", ""]
    return "\n".join(lines)


def _block_ends_note(spec, base, r) -> str:
    """Why losing the block contract can leave the provider with more cash, with its numbers."""
    from .report import money

    cost = base["cost_per_hour_median"]
    below = np.isfinite(cost) and spec.block_price < cost
    why = (f"its block price (£{spec.block_price:.2f}/hour) is below its own cost per hour "
           f"delivered in the baseline (median £{cost:.2f}, wages and overheads)"
           if below else f"its block price (£{spec.block_price:.2f}/hour) is below its spot "
           f"price (£{spec.spot_price:.2f}/hour)")
    return (f"Note: **block_ends** ends with more cash than the baseline "
            f"({money(r['cash_end_median'])} against {money(base['cash_end_median'])}) because "
            f"{why}. In the model the council's need for care does not go away when blocks end: "
            f"the hours are bought at spot prices instead (in this scenario the council renews "
            f"no block contracts with anyone), and the provider staffs to what it sells rather "
            f"than to a guaranteed volume at a loss-making price. A block contract is a risk "
            f"only when spot demand would not fill the hours; here it does.")


STRESS_OPTIONS = ("provider", "stress", "seeds", "steps", "out")
SET_BY_STRESS = {"seed": "seeds", "output.figures": None}


def _positive_int(key: str, value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise UsageError(f"{key}={value!r} must be a whole number of at least 1") from None
    if n < 1:
        raise UsageError(f"{key}={value} must be at least 1")
    return n


def parse_args(argv):
    opts = {"stress": "fast_uptake,block_ends,wage_rise,demand_shock", "seeds": "50",
            "steps": "156"}
    extra = {}
    for a in argv:
        if a in ("-h", "--help"):
            print(__doc__)
            raise SystemExit(0)
        if "=" not in a:
            raise UsageError(f"expected key=value, got {a!r}"
                             f"{_did_you_mean(a, STRESS_OPTIONS)} (see --help)")
        k, v = a.split("=", 1)
        if k in STRESS_OPTIONS:
            opts[k] = v
        elif k in SET_BY_STRESS:
            alt = SET_BY_STRESS[k]
            raise UsageError(f"{k} is set by the stress test for each run"
                             + (f" (did you mean {alt!r}? e.g. {alt}=10)" if alt else ""))
        elif "." not in k and _did_you_mean(k, STRESS_OPTIONS):
            raise UsageError(f"unknown option {k!r}{_did_you_mean(k, STRESS_OPTIONS)}")
        else:
            extra[k] = v
    if "provider" not in opts:
        raise UsageError("provider=FILE is required (see --help)")
    opts["seeds"] = _positive_int("seeds", opts["seeds"])
    opts["steps"] = _positive_int("steps", opts["steps"])
    return opts, extra


def _check_overrides(extra: dict, steps: int):
    """Model overrides are checked once here, so a typo is one line, not a worker's traceback."""
    if not extra:
        return
    from .config import SimConfig, compose

    try:
        compose(*[f"{k}={v}" for k, v in extra.items()], f"steps={steps}")
    except Exception as exc:  # Hydra's and the schema's errors alike
        msg = " ".join(str(exc).strip().split("\n\n")[0].split())   # first paragraph, one line
        keys = []

        def walk(obj, prefix=""):
            for f in dataclasses.fields(obj):
                v = getattr(obj, f.name)
                if dataclasses.is_dataclass(v):
                    walk(v, f"{prefix}{f.name}.")
                else:
                    keys.append(f"{prefix}{f.name}")

        walk(SimConfig())
        hints = "".join(_did_you_mean(k, keys + list(STRESS_OPTIONS)) for k in extra
                        if k not in keys)
        raise UsageError(f"model option rejected: {msg}{hints}") from None


def main(argv=None):
    from joblib import Parallel, delayed

    try:
        opts, extra = parse_args(sys.argv[1:] if argv is None else argv)
        spec = load_provider(opts["provider"])
        seeds, steps = opts["seeds"], opts["steps"]
        chosen = [s for s in opts["stress"].split(",") if s]
        scs = scenarios(spec, chosen)
        _check_overrides(extra, steps)
    except (UsageError, ProviderFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
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
    atomic_write(out / "table.md", lambda p: p.write_text(table_markdown(table, steps)))
    _fans(runs, out, steps)
    atomic_write(out / "summary.md", lambda p: p.write_text(_board_summary(spec, table, steps,
                                                                           seeds)))
    print(table.to_string(index=False))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
