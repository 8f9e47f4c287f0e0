"""``python -m sim.stress``: stress-test one care provider against demand scenarios.

The provider, described in a small YAML file, takes its place in the simulated market as a real
provider agent (it competes for spot demand, holds its block contract, pays its wage and
overheads, sets its prices and staffing, and leaves the market when its cash falls below its
tolerated overdraft or its losses persist), and the market is run under each named scenario
for many seeds.

    python -m sim.stress provider=examples/home_care_agency.yaml \\
        stress=fast_uptake,block_ends,wage_rise,demand_shock seeds=50 shock_week=26

The shocks (``block_ends``, ``wage_rise``, ``demand_shock``) are the model's shocks at a stated
week (``shocks.*``, ``sim/shocks.py``): the market and the provider run unshocked until the
start of week ``shock_week``, then the shock hits and stays; ``fast_uptake`` is a policy,
in force from week 1.  The provider's ``block_end_week`` is a week of the recorded run (its
contract is renewed at the council's rate then, unless ``policy.renew_blocks=false``).

Options (key=value): ``provider`` (YAML file, required), ``stress`` (comma-separated, default
all; ``baseline`` and ``combined`` are always added), ``seeds`` (default 50), ``steps`` (weeks,
default 156), ``shock_week`` (the week the shocks hit, 1..steps, default 26: after the market
has settled), ``out`` (folder; default ``outputs/stress/<provider>-<time>``), plus any model
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


#: What each scenario is, in words (the shocks hit at the start of week ``shock_week``).
DESCRIPTIONS = {
    "baseline": "no shock",
    "fast_uptake": "PB uptake much faster than planned: 60% within six months (a policy, from "
                   "week 1)",
    "block_ends": "every council ends all its block contracts, this provider's included; the "
                  "council buys those hours at spot from then on",
    "wage_rise": "the wage floor rises to 10% above the going wage (and above the provider's "
                 "own); council fees frozen",
    "demand_shock": "need 15% higher for everyone present and every entrant; councils' "
                    "budgets and packages follow at each person's next review",
    "combined": "all of the chosen scenarios together",
}
NEED_RISE = 0.15
WAGE_RISE = 0.10


def scenarios(spec: ProviderSpec, chosen: list[str]) -> dict[str, dict]:
    """Each stress scenario as model overrides (``shocks.*`` hit at the shock week)."""
    all_ = {
        "fast_uptake": {"overrides": {"policy.pb_target": 0.6, "policy.rollout_months": 6.0}},
        "block_ends": {"overrides": {"shocks.blocks_end": True}},
        "wage_rise": {"overrides": {"shocks.wage_floor_rise": "WAGE_PLUS_10",
                                    "council.fee_uplift": 0.0}},
        "demand_shock": {"overrides": {"shocks.need_rise": NEED_RISE}},
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


def wage_floor_rise(spec: ProviderSpec, base) -> float:
    """£/hour added to the wage floor in ``wage_rise``: the floor then stands ``WAGE_RISE``
    above the going wage at a slack pool and above the provider's own wage."""
    m = base.market
    return round((1 + WAGE_RISE) * max(m.wage, m.wage_floor, spec.wage) - m.wage_floor, 4)


def _watched():
    from .agents import Provider

    class Watched(Provider):
        """The stressed provider's Mesa agent: as it leaves the market it notes its cash and
        running costs (``left``), which its row keeps only until an entrant takes it."""

        left: tuple[float, float] | None = None

        def remove(self):
            p = self.model.providers
            self.left = (float(p.cash[self.row]), float(p.cum_cost[self.row]))
            super().remove()

    return Watched


def _shocked(scenario: dict) -> bool:
    """Whether a scenario holds a shock at the shock week (``shocks.*``)."""
    return any(k.startswith("shocks.") for k in scenario["overrides"])


def run_one(spec: ProviderSpec, scenario: dict, seed: int, steps: int, extra: dict,
            shock_week: int = 26) -> pd.DataFrame:
    """One future of the provider under one scenario: its week-by-week figures."""
    from .codes import PROVIDER_TYPES
    from .config import compose
    from .model import CareMarketModel
    from .providers import add_providers

    base = compose(*[f"{k}={v}" for k, v in extra.items()], f"seed={seed}", f"steps={steps}",
                   "output.figures=false")
    ov = {}
    for k, v in scenario["overrides"].items():
        if v == "WAGE_PLUS_10":
            v = wage_floor_rise(spec, base)
        ov[k] = v
    if _shocked(scenario):
        ov["shocks.week"] = shock_week
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
    _make_room(model, row, spec.staffed_hours,
               spec.block_share * spec.staffed_hours if spec.block_price > 0 else 0.0)
    if spec.block_share > 0 and spec.block_price > 0:
        e.block_volume[home_edge] = spec.block_share * spec.staffed_hours
        e.block_price[home_edge] = spec.block_price
        # A week of the recorded run (the model's clock counts the burn-in too).
        e.block_end[home_edge] = model.t + spec.block_end_week
    uid = p.uid[row]
    # Its Mesa agent notes the cash and running costs it leaves with (an entrant may take its
    # row the same week).
    model.provider_agents.pop(row).remove()
    agent = model.provider_agents[row] = _watched()(model, row)
    rows = []
    cash, cum_cost = float(p.cash[row]), float(p.cum_cost[row])
    m = cfg.market
    for t in range(1, steps + 1):
        model.step()
        alive = bool(p.active[row] and p.uid[row] == uid)
        if not alive:
            # The week it left: the cash it left with, and why it left (below its tolerated
            # overdraft, market.overdraft_weeks of the week's costs, or closing on sustained
            # losses, market.exit_margin).
            reason = "unknown"
            if agent.left is not None:
                cash, week_cost = agent.left[0], agent.left[1] - cum_cost
                reason = "cash" if cash < -m.overdraft_weeks * week_cost else "losses"
            rows.append({"step": t, "alive": False, "revenue": 0.0, "utilisation": 0.0,
                         "margin": np.nan, "cash": cash, "block_revenue": 0.0, "cost": 0.0,
                         "delivered": 0.0, "exit_step": t, "exit_reason": reason,
                         "overdraft": np.nan})
            break
        rev, cost, cash = float(p.revenue[row]), float(p.cost[row]), float(p.cash[row])
        cum_cost = float(p.cum_cost[row])
        rows.append({"step": t, "alive": True, "revenue": rev, "overdraft": m.overdraft_weeks * cost,
                     "utilisation": p.delivered[row] / max(p.capacity_cleared[row], 1e-9),
                     "margin": (rev - cost) / rev if rev > 0 else np.nan,
                     "cash": cash, "block_revenue": float(p.block_revenue[row]), "cost": cost,
                     "delivered": float(p.delivered[row])})
    df = pd.DataFrame(rows)
    df["seed"] = seed
    return df


def _per_hour(frame: pd.DataFrame, col: str) -> float:
    """Median over weeks of ``col`` per hour delivered (NaN if no week delivered any)."""
    hours = frame["delivered"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        v = np.where(hours > 0, frame[col].to_numpy(float) / hours, np.nan)
    return float(np.nanmedian(v)) if np.isfinite(v).any() else np.nan


#: Largest share of its rivals' capacity the provider takes when it is placed in the market.
ROOM_MAX = 0.5


def _make_room(model, row: int, hours: float, block_hours: float) -> None:
    """The provider takes its place in the market instead of adding to it: the market was sized
    to the demand (plus the usual slack), so the other providers of its type based in its home
    council give up as much staffed capacity, pro rata (their overheads, cash and recent sales
    with it; at most ``ROOM_MAX`` of theirs), and their block contracts there as much volume,
    so the council's contracted volume stays what it needs.  Without this the provider would
    be surplus capacity from day one, and its result would follow from that glut rather than
    from its own costs and contracts."""
    p, e = model.providers, model.edges
    home, ptype = p.home[row], p.ptype[row]
    rivals = np.flatnonzero(p.active & (p.ptype == ptype) & (p.home == home))
    rivals = rivals[rivals != row]
    total = p.capacity[rivals].sum()
    if total > 0:
        keep = 1.0 - min(hours / total, ROOM_MAX)
        for col in ("capacity", "overhead", "cash", "delivered_ema"):
            getattr(p, col)[rivals] *= keep
    mine = np.zeros(p.size, dtype=bool)
    mine[rivals] = True
    blocks = np.flatnonzero(e.active & (e.council == home) & (e.block_volume > 0)
                            & mine[e.provider])
    vol = e.block_volume[blocks].sum()
    if vol > 0 and block_hours > 0:
        e.block_volume[blocks] *= 1.0 - min(block_hours / vol, ROOM_MAX)


def _summarise(runs: dict[str, list[pd.DataFrame]], steps: int,
               shock_week: int | None = None) -> pd.DataFrame:
    """One row per scenario.  Cash at the end is the cash in the last week of the run, or, for a
    seed in which the provider left the market, the cash it left with (never £0).  A provider
    leaves when its cash falls below its tolerated overdraft (``market.overdraft_weeks`` of a
    week's costs) or when its smoothed losses stay beyond ``market.exit_margin`` of its costs;
    one that ends the run below £0 but within its overdraft is still trading (counted
    ``in_overdraft_end``).  With ``shock_week``, the medians over the weeks from it on
    (``*_after``) show what the shock did to the provider's sales."""
    rows = []
    for sc, dfs in runs.items():
        exits = np.array([d.loc[~d["alive"], "step"].min() if (~d["alive"]).any() else np.inf
                          for d in dfs])
        reasons = [d.loc[~d["alive"], "exit_reason"].iloc[0]
                   if (~d["alive"]).any() and "exit_reason" in d else "unknown" for d in dfs]
        live = pd.concat(dfs)
        live = live[live["alive"]]
        cash_end = np.array([d["cash"].iloc[-1] for d in dfs], float)
        in_od = [bool(d["alive"].iloc[-1] and d["cash"].iloc[-1] < 0) for d in dfs]
        limits = [d["overdraft"].iloc[-1] for d in dfs
                  if d["alive"].iloc[-1] and "overdraft" in d]
        hours = live["delivered"].to_numpy(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            cost_per_hour = np.where(hours > 0, live["cost"].to_numpy(float) / hours, np.nan)
        after = live[live["step"] >= shock_week] if shock_week else live.iloc[:0]
        row = {"scenario": sc, "seeds": len(dfs),
               "revenue_week_median": live["revenue"].median(),
               "utilisation_median": live["utilisation"].median(),
               "margin_median": live["margin"].median(),
               "cost_per_hour_median": float(np.nanmedian(cost_per_hour))
               if np.isfinite(cost_per_hour).any() else np.nan,
               "cash_end_median": np.median(cash_end),
               "cash_end_p05": np.quantile(cash_end, 0.05),
               "insolvent_seeds": int(np.isfinite(exits).sum()),
               "exits_on_losses": sum(r == "losses" for r in reasons),
               "weeks_to_insolvency_median": float(np.median(exits[np.isfinite(exits)]))
               if np.isfinite(exits).any() else np.nan,
               "in_overdraft_end": int(sum(in_od)),
               "overdraft_limit_median": float(np.median(limits)) if limits else np.nan,
               "revenue_per_hour_after": _per_hour(after, "revenue") if len(after) else np.nan,
               "cost_per_hour_after": _per_hour(after, "cost") if len(after) else np.nan,
               "delivered_after_median": float(after["delivered"].median())
               if len(after) else np.nan}
        for years in HORIZONS:
            if years * WEEKS_PER_YEAR <= steps:
                row[f"p_exit_{years}y"] = float((exits <= years * WEEKS_PER_YEAR).mean())
        rows.append(row)
    return pd.DataFrame(rows)


HORIZONS = (1, 2, 3)
# table.md: column title and format of each table.csv column.
COLUMNS = {"scenario": ("scenario", str), "shock_week": ("shock week (0: none)", "count"),
           "seeds": ("seeds", "count"),
           "revenue_week_median": ("median weekly revenue", "money"),
           "utilisation_median": ("median utilisation", "share"),
           "margin_median": ("median margin", "share"),
           "cost_per_hour_median": ("median cost per hour delivered", "money"),
           "cash_end_median": ("cash at end or exit, median", "money"),
           "cash_end_p05": ("cash at end or exit, 5th pct", "money"),
           "insolvent_seeds": ("seeds it left the market", "count"),
           "exits_on_losses": ("of which closed on sustained losses (not cash)", "count"),
           "weeks_to_insolvency_median": ("week it left, median", "count"),
           "in_overdraft_end": ("seeds still trading in overdraft at the end", "count"),
           "overdraft_limit_median": ("tolerated overdraft at the end, median", "money"),
           "revenue_per_hour_after": ("median revenue per hour from the shock week", "money"),
           "cost_per_hour_after": ("median cost per hour from the shock week", "money"),
           "delivered_after_median": ("median hours/week delivered from the shock week",
                                      "count"),
           **{f"p_exit_{y}y": (f"chance of exit within {y} year{'s' if y > 1 else ''}", "share")
              for y in HORIZONS}}


def _cell(kind, x) -> str:
    from .report import FORMATS, money

    if kind is str:
        return str(x)
    return money(x) if kind == "money" else FORMATS[kind](x)


def shock_text(table: pd.DataFrame, steps: int, shock_week: int | None,
               wage_rise: float | None = None) -> list[str]:
    """What each scenario of ``table`` is, and the week the shocks hit, in words."""
    scs = list(table["scenario"])
    shocked = ([s for s, w in zip(scs, table["shock_week"], strict=True) if w > 0]
               if "shock_week" in table else
               [s for s in scs if s in ("block_ends", "wage_rise", "demand_shock", "combined")])
    lines = []
    if shock_week and shocked:
        lines.append(f"The shocks ({', '.join(shocked)}) hit at the start of week {shock_week} of "
                     f"{steps}: until then each of those futures is the baseline's future with "
                     f"the same seed.")
    for s in scs:
        what = DESCRIPTIONS.get(s, "")
        if s == "wage_rise" and wage_rise is not None:
            what += f" (the floor +£{wage_rise:.2f}/hour)"
        lines.append(f"- **{s}**: {what}.")
    return lines


def table_markdown(table: pd.DataFrame, steps: int, shock_week: int | None = None,
                   wage_rise: float | None = None) -> str:
    """table.csv as a readable table: £, %, thousands separators; missing values as a dash."""
    from .report import MISSING

    cols = [c for c in COLUMNS if c in table.columns]
    lines = ["| " + " | ".join(COLUMNS[c][0] for c in cols) + " |", "|" + "---|" * len(cols)]
    for r in table.to_dict("records"):
        lines.append("| " + " | ".join(_cell(COLUMNS[c][1], r[c]) for c in cols) + " |")
    notes = ["\n".join(shock_text(table, steps, shock_week, wage_rise)),
             f"Cash at end or exit: the cash in the last week of the run, or, for a seed in which "
             f"the provider left the market, the cash it left with. It leaves when its cash falls "
             f"below its tolerated overdraft (market.overdraft_weeks of a week's costs) or when "
             f"its smoothed losses stay beyond market.exit_margin of its costs (closed on "
             f"sustained losses, whatever its cash); below £0 but within the overdraft it is "
             f"still trading. "
             f"{MISSING}: no value (the week it left when no seed left; margin "
             f"when the provider had no revenue; figures from the shock week when it had left "
             f"before it, or there is no shock)."]
    beyond = [y for y in HORIZONS if y * WEEKS_PER_YEAR > steps]
    if beyond:
        notes.append(f"Chance of exit within {', '.join(map(str, beyond))} year(s): not shown, "
                     f"the run is {steps} weeks.")
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes) + "\n"


def uncertainty(extra: dict) -> str:
    """What the bands over seeds include: with ``posterior.by_seed=true`` each seed runs on its
    own draw of the calibration's posterior (parameter uncertainty too), else every seed on
    the most likely parameters (seed noise only)."""
    if str(extra.get("posterior.by_seed", "false")).lower() == "true":
        return "parameter uncertainty and seed noise: each seed on its own posterior draw"
    return "seed noise only: every seed on the most likely calibrated parameters"


def _fans(runs, out: Path, steps: int, shock_week: int | None = None,
          kind: str = "seed noise only"):
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
        if shock_week:
            ax.axvline(shock_week, color="black", lw=0.8, ls="--")
            ax.annotate(f"shocks (week {shock_week})", (shock_week, 1), xycoords=("data",
                        "axes fraction"), xytext=(3, -12), textcoords="offset points",
                        fontsize=8)
        ax.set_xlabel("week")
        ax.set_ylabel(label)
        money_axis(ax) if col != "utilisation" else plain_axis(ax)
        title = f"{label}: median and 90% band over seeds\n({kind.split(':')[0]})"
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


def _board_summary(spec, table, steps, seeds, shock_week: int | None = None,
                   wage_rise: float | None = None,
                   kind: str = uncertainty({})) -> str:
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
             f"until week {spec.block_end_week} (spot £{spec.spot_price:.2f}). {seeds} simulated "
             f"futures per scenario, {steps} weeks each, in the simulated market of the default "
             f"council. Spread over futures: {kind}.", "",
             *shock_text(table, steps, shock_week, wage_rise), "",
             "| scenario | median weekly revenue | median margin | cash at end or exit* (median / "
             f"5th pct) | left the market** | {exit_head} |", "|---|---|---|---|---|---|"]
    for sc, r in t.iterrows():
        p = " / ".join(_pct(r[f"p_exit_{y}y"]) for y in horizons) if horizons else \
            _pct(r["insolvent_seeds"] / r["seeds"])
        margin = share(r["margin_median"])
        left = f"{int(r['insolvent_seeds'])} of {int(r['seeds'])}"
        if r.get("exits_on_losses", 0) > 0:
            left += f" ({int(r['exits_on_losses'])} on sustained losses)"
        lines.append(f"| {sc} | {money(r['revenue_week_median'])} | {margin} | "
                     f"{money(r['cash_end_median'])} / {money(r['cash_end_p05'])} | "
                     f"{left} | {p} |")
    lines += ["", "\\* For a future in which the provider left the market: the cash it left with, "
              "not £0.", "",
              "\\*\\* It leaves when its cash falls below its tolerated overdraft "
              "(market.overdraft_weeks of a week's costs), or, whatever its cash, when its "
              "smoothed losses stay beyond market.exit_margin of its costs (closing beats "
              "carrying on)."]
    if beyond:
        said = ", ".join(map(str, beyond[:-1])) + (" and " if beyond[:-1] else "") + str(beyond[-1])
        lines += ["", "Chance of exit within " + said +
                  f" year{'s' if beyond != [1] else ''}: n/a (run is {steps} weeks)."]
    for sc, r in t.iterrows():
        k = int(r.get("in_overdraft_end", 0) or 0)
        if k:
            lines += ["", f"In overdraft: under **{sc}** the provider ends the run below £0 but "
                      f"within its tolerated overdraft (median {money(r['overdraft_limit_median'])}"
                      f") in {k} of {int(r['seeds'])} futures: still trading at the end, so not "
                      f"counted as an exit; it leaves if its losses go on."]
    base = t.loc["baseline"] if "baseline" in t.index else None
    # More cash than the baseline by more than 2% of its cash (or of its starting reserves):
    # a difference a board would notice, not a rounding of the same future.
    tol = 0.0 if base is None else 0.02 * max(abs(base["cash_end_median"]),
                                              abs(spec.cash_reserves), 1.0)
    for sc, r in t.iterrows():
        if base is None or sc == "baseline" or \
                not r["cash_end_median"] > base["cash_end_median"] + tol:
            continue
        lines += ["", _more_cash_note(spec, sc, base, r, shock_week)]
    lines += ["", f"Most dangerous scenario: **{worst}**.", "",
              "![revenue](fan_revenue.png)", "", "![cash](fan_cash.png)", "",
              "Method: the provider is an agent in the simulated market; scenarios are defined in "
              "`sim/stress.py`, the shocks in `sim/shocks.py`. Figures are model results, not "
              "forecasts.", ""]
    return "\n".join(lines)


def _more_cash_note(spec, sc, base, r, shock_week) -> str:
    """Why a scenario ends with more cash than the baseline, from the provider's own figures:
    how often it left the market, what it was paid per hour, how many hours it sold and what
    an hour cost it, from the shock week on, against the baseline.  Every claim is a
    comparison of those numbers, so the text cannot say what they do not show."""
    from .report import count, money

    head = (f"Note: **{sc}** ends with more cash than the baseline "
            f"({money(r['cash_end_median'])} against {money(base['cash_end_median'])}).")
    facts = []
    n = int(r["seeds"])
    if r["insolvent_seeds"] > base["insolvent_seeds"]:
        facts.append(f"It is not better off: it left the market in more futures "
                     f"({int(r['insolvent_seeds'])} of {n}, against "
                     f"{int(base['insolvent_seeds'])} in the baseline), and the cash compared "
                     f"for those is what it left with.")
    elif base["insolvent_seeds"] > r["insolvent_seeds"]:
        facts.append(f"In the baseline it left the market in {int(base['insolvent_seeds'])} of "
                     f"{n} futures (median week {count(base['weeks_to_insolvency_median'])}), "
                     f"here in {int(r['insolvent_seeds'])}, so the baseline's cash stops when it "
                     f"left.")
    paid, cost = r.get("revenue_per_hour_after", np.nan), r.get("cost_per_hour_after", np.nan)
    if shock_week and np.isfinite(paid):
        had = np.isfinite(base.get("revenue_per_hour_after", np.nan))
        b = (lambda key, f: f" (baseline {f(base[key])})") if had else (lambda key, f: "")
        facts.append(f"From week {shock_week} it was paid a median {money(paid)} per hour "
                     f"delivered{b('revenue_per_hour_after', money)}, sold a median "
                     f"{count(r['delivered_after_median'])} hours/week"
                     f"{b('delivered_after_median', count)} and an hour cost it "
                     f"{money(cost)}{b('cost_per_hour_after', money)}"
                     + ("." if had else "; in the baseline it had left the market by then."))
        if had and np.isfinite(cost):
            m_r, m_b = paid - cost, base["revenue_per_hour_after"] - base["cost_per_hour_after"]
            h_r, h_b = r["delivered_after_median"], base["delivered_after_median"]
            facts.append(f"So each hour left it {money(m_r)} (baseline {money(m_b)}) on "
                         f"{'more' if h_r > h_b else 'fewer' if h_r < h_b else 'as many'} "
                         f"hours: its cash follows from its price, its costs and the hours it "
                         f"sold.")
    if sc == "block_ends":
        facts.append(_block_ends_why(spec, base, r))
    if not facts and r["insolvent_seeds"] and base["insolvent_seeds"]:
        facts.append(f"It left the market in both (median week "
                     f"{count(r['weeks_to_insolvency_median'])} here, "
                     f"{count(base['weeks_to_insolvency_median'])} in the baseline): the "
                     f"difference is what its last weeks of trading added, not a better future.")
    return " ".join([head, *[f for f in facts if f]])


def _block_ends_why(spec, base, r) -> str:
    """What ending every council's block contracts did to this provider, in the model's terms
    and its own numbers."""
    from .report import money

    paid, cost = r.get("revenue_per_hour_after", np.nan), r.get("cost_per_hour_after", np.nan)
    if not (spec.block_share > 0 and spec.block_price > 0):
        return ("It holds no block contract: ending the councils' blocks changed its market (the "
                "councils' hours are bought at spot, from every provider), not its contract.")
    block, base_cost = spec.block_price, base["cost_per_hour_median"]
    said = ""
    if np.isfinite(base_cost):
        said = (f"Its block price (£{block:.2f}/hour) is "
                f"{'below' if block < base_cost else 'not below'} its own cost per hour "
                f"delivered in the baseline (median {money(base_cost)}). ")
    if np.isfinite(paid) and np.isfinite(cost):
        said += ("When the blocks end the council still buys the care, at spot: at providers' "
                 "list prices (which carried what the council's rates left unpaid). ")
        if paid > cost:
            said += (f"The hours it sold paid {money(paid)} against £{block:.2f} under the block "
                     f"and {money(cost)} they cost it: in this market spot demand filled its "
                     f"hours at prices above cost, so the guaranteed block was the worse deal.")
        else:
            said += (f"The hours it sold paid {money(paid)}, less than the {money(cost)} they "
                     f"cost it: spot demand did not fill its hours at prices above cost.")
    return said


STRESS_OPTIONS = ("provider", "stress", "seeds", "steps", "shock_week", "out")
SHOCK_WEEK = 26     # default: half a year, after the market and the provider have settled
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
    opts["shock_week"] = _shock_week(opts.get("shock_week"), opts["steps"])
    return opts, extra


def _shock_week(value: str | None, steps: int) -> int:
    """The week the shocks hit: a whole number in 1..steps (default ``SHOCK_WEEK``)."""
    given = value is not None
    try:
        week = int(value) if given else SHOCK_WEEK
    except ValueError:
        raise UsageError(f"shock_week={value!r} must be a whole number in 1..{steps} (the week "
                         f"of the run the shocks hit)") from None
    if not 1 <= week <= steps:
        what = f"shock_week={week}" + ("" if given else " (the default)")
        raise UsageError(f"{what} is out of range; allowed [1, {steps}] (a week of the "
                         f"{steps}-week run; the market should settle first: set shock_week= or "
                         f"steps=)")
    return week


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
    shock_week = opts["shock_week"]
    from .config import compose

    rise = wage_floor_rise(spec, compose(*[f"{k}={v}" for k, v in extra.items()])) \
        if "wage_rise" in scs else None
    jobs = [(sc, s) for sc in scs for s in range(seeds)]
    try:
        from tqdm import tqdm

        gen = Parallel(n_jobs=-1, return_as="generator")(
            delayed(run_one)(spec, scs[sc], s, steps, extra, shock_week) for sc, s in jobs)
        results = list(tqdm(gen, total=len(jobs), desc="stress", unit="run"))
    except ProviderFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runs: dict[str, list] = {sc: [] for sc in scs}
    for (sc, _), df in zip(jobs, results, strict=True):
        runs[sc].append(df)
    out.mkdir(parents=True, exist_ok=True)
    table = _summarise(runs, steps, shock_week)
    table.insert(1, "shock_week", [shock_week if _shocked(scs[sc]) else 0
                                   for sc in table["scenario"]])
    atomic_write(out / "table.csv", lambda p: table.to_csv(p, index=False))
    atomic_write(out / "table.md", lambda p: p.write_text(table_markdown(table, steps, shock_week,
                                                                         rise)))
    kind = uncertainty(extra)
    _fans(runs, out, steps, shock_week, kind)
    atomic_write(out / "summary.md", lambda p: p.write_text(_board_summary(
        spec, table, steps, seeds, shock_week, rise, kind)))
    print(table.to_string(index=False))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
