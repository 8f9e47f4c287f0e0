"""The presenter dashboard's model and figures, apart from the page (``sim.app``).

``DashboardModel`` is the simulator with the dashboard's levers as keyword arguments; it owns
its counterfactual (the same configuration and seed with no rollout, built as
``sim.counterfactual.counterfactual_config`` builds it) and steps it in lockstep, so every
week the page can compare the run with the same people's paths without the rollout (common
random numbers, ``sim.crn``).  Each week it keeps the few national figures the page draws
(``history``), so drawing never rebuilds a data frame.

Levers (``LEVERS``) are grouped (policy, council, market) and carry their unit; a lever's
value is shown in the unit a presenter reads (a PB target in %, not as a share).  A named
scenario (``configs/scenario/``) sets every lever's value (``scenario_levers``) and the
settings no lever moves (groups, geography, ...).
"""

from __future__ import annotations

import datetime as dt
import functools
import math
from dataclasses import dataclass

import numpy as np

from .codes import N_TYPES, PROVIDER_TYPES, council_funded, holds_pb
from .config import SimConfig, compose, to_config
from .counterfactual import counterfactual_config
from .model import CareMarketModel
from .scenarios import scenarios

#: Scenarios a presenter can reset to: the evidence scenarios and the default council.
#: ``england`` (152 councils, ~850,000 users) is left out: too big to play live.
SCENARIOS = ("personal_best_2010", "quick_fix", "making_it_personal", "west_sussex_pilot",
             "default")
DEFAULT_SCENARIO = "personal_best_2010"
#: Weeks the dashboard can play (five years from the scenario's start date).
HORIZON_WEEKS = 260
GROUPS = ("policy", "council", "market")


@dataclass(frozen=True)
class Lever:
    """One lever: its config key, group, label and unit, and its slider in display units
    (``scale`` x the config value: 100 for a share shown in %)."""

    name: str
    key: str
    group: str
    label: str
    unit: str
    min: float = 0.0
    max: float = 1.0
    step: float = 0.1
    scale: float = 1.0
    fmt: str = "{:g}"
    kind: str = "float"           # float, int or select
    values: tuple = ()

    def to_config(self, shown):
        if self.kind == "select":
            return str(shown)
        value = float(shown) / self.scale
        return int(round(value)) if self.kind == "int" else value

    def shown(self, cfg: SimConfig):
        value = functools.reduce(getattr, self.key.split("."), cfg)
        if self.kind == "select":
            return str(value)
        value = value * self.scale
        return int(round(value)) if self.kind == "int" else round(float(value), 6)

    def text(self, shown) -> str:
        return str(shown) if self.kind == "select" else self.fmt.format(shown)


LEVERS = (
    Lever("pb_target", "policy.pb_target", "policy", "PB target", "% of funded users at home",
          0, 100, 1, 100, "{:.0f}"),
    Lever("rollout_months", "policy.rollout_months", "policy", "Time to reach the target",
          "months", 0.25, 36, 0.25, fmt="{:g}"),
    Lever("target_enforcement", "policy.target_enforcement", "policy", "Push to meet the target",
          "(0 none, 1 full)", 0, 1, 0.05, fmt="{:.2f}"),
    Lever("ras_affordability", "policy.ras_affordability", "policy", "RAS budgets",
          "% of today's spend on the same people", 50, 150, 5, 100, "{:.0f}"),
    Lever("block_wind_down", "policy.block_wind_down", "policy", "Block contracts wound down",
          "% of surplus volume a year", 0, 400, 25, 100, "{:.0f}"),
    Lever("family_pay_rule", "policy.family_pay_rule", "policy", "Family carers paid from a DP",
          "who may be paid", kind="select", values=("none", "non_resident", "any")),
    Lever("n_users", "council.n_users", "council", "Council size", "users per council",
          5, 20000, 5, fmt="{:,.0f}", kind="int"),
    Lever("planning_staff", "council.planning_staff", "council", "Support planners", "FTE",
          0, 20, 0.5, fmt="{:g}"),
    Lever("planning_duration_weeks", "council.planning_duration_weeks", "council",
          "Length of a support plan", "weeks", 1, 26, 1, fmt="{:.0f}", kind="int"),
    Lever("brokers", "council.brokers", "council", "Brokers and advocates", "FTE", 0, 10, 0.5,
          fmt="{:g}"),
    Lever("wage_floor", "market.wage_floor", "market", "Care-worker wage floor", "£/hour",
          4, 10, 0.01, fmt="{:.2f}"),
    Lever("labour_growth", "market.labour_growth", "market", "Care-worker pool growth",
          "% a year", -5, 10, 0.5, 100, "{:+.1f}"),
    Lever("entry_rate", "market.entry_rate", "market", "Provider entry",
          "entrants/week per provider's worth of unmet demand", 0, 0.3, 0.01, fmt="{:.2f}"),
)
LEVER = {lever.name: lever for lever in LEVERS}


@functools.cache
def scenario_config(name: str) -> SimConfig:
    """The scenario's configuration (composed once per process: no Hydra calls per reset)."""
    if name not in scenarios():
        raise ValueError(f"no scenario {name!r}; scenarios: {', '.join(scenarios())}")
    return compose(f"scenario={name}")


def scenario_levers(name: str) -> dict:
    """Every lever's value in scenario ``name``, in display units."""
    cfg = scenario_config(name)
    return {lever.name: lever.shown(cfg) for lever in LEVERS}


def default_settings(scenario: str = DEFAULT_SCENARIO, seed: int = 0) -> dict:
    """What the page starts from: a scenario, a seed and that scenario's lever values."""
    return {"scenario": scenario, "seed": int(seed), **scenario_levers(scenario)}


def settings_config(settings: dict) -> SimConfig:
    """The checked configuration of the page's settings (scenario, seed, every lever); raises
    ``ConfigError`` naming what is wrong (a PB target below the share at the start, ...)."""
    overrides = {lever.key: lever.to_config(settings[lever.name]) for lever in LEVERS}
    return to_config(scenario_config(settings["scenario"]), **overrides,
                     seed=int(settings["seed"]), steps=HORIZON_WEEKS,
                     **{"output.figures": False, "output.counterfactual": False})


def _num(x, scale=1.0, digits=4):
    """A finite number for a chart or card (``None`` for NaN: JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return round(x * scale, digits) if math.isfinite(x) else None


class DashboardModel(CareMarketModel):
    """The simulator with the dashboard's levers, its counterfactual stepped in lockstep.

    ``DashboardModel(scenario="quick_fix", pb_target=60, seed=3)``: levers in display units
    (``LEVERS``); a lever not given takes the scenario's value.  ``settings`` (a dict, or the
    page's reactive holding one) gives the scenario, seed and levers at once: Mesa's Reset
    builds the model from it.
    """

    def __init__(self, settings=None, scenario: str = DEFAULT_SCENARIO, seed: int = 0,
                 **kwargs):
        levers = kwargs         # named so for Mesa's check of the page's parameters
        if settings is not None:
            values = dict(getattr(settings, "value", settings))
            scenario = values.pop("scenario", scenario)
            seed = values.pop("seed", seed)
            levers = {**values, **levers}
        unknown = set(levers) - set(LEVER)
        if unknown:
            raise TypeError(f"unknown levers {sorted(unknown)}; levers: {', '.join(LEVER)}")
        try:
            seed = int(seed)
        except (TypeError, ValueError):
            raise ValueError(f"seed={seed!r} is not a whole number") from None
        self.settings = {"scenario": scenario, "seed": seed,
                         **scenario_levers(scenario), **levers}
        super().__init__(settings_config(self.settings))
        #: The same configuration and seed without the rollout, stepped with this model.
        self.counterfactual = CareMarketModel(counterfactual_config(self.cfg))
        self.start_providers = int(self.providers.n)
        self.start_pb_share = float(self.recorder.start["pb_share"])
        self.target_date = self.date_of(max(int(round(self.council.rollout_weeks)), 1))
        self.history: dict[str, list] = {}

    # ------------------------------------------------------------------ weekly step
    def step(self):
        super().step()
        self.counterfactual.step()
        self._observe()
        self.running = self.steps < self.cfg.steps

    def worse_off(self) -> dict:
        """People worse off than without the rollout *this week*: the comparison of
        ``sim.counterfactual.effects``, person by person (matched by uid, present in both
        runs), on this week's quality of life instead of the mean over the run's last
        ``output.effect_window_weeks`` (the summary's window, which a live run has not
        reached): worse off when it is lower than in the counterfactual by more than
        ``behaviour.outcome_threshold``.  Also those of them who moved to a PB since the
        policy started (the summary's ``worse_off_share``)."""
        u, c = self.users, self.counterfactual.users
        thr = self.cfg.behaviour.outcome_threshold
        rows = np.flatnonzero(u.active)
        cf_rows = np.flatnonzero(c.active)
        order = np.argsort(c.uid[cf_rows])
        cf_uid = c.uid[cf_rows][order]
        pos = np.minimum(np.searchsorted(cf_uid, u.uid[rows]), max(cf_uid.size - 1, 0))
        both = cf_uid[pos] == u.uid[rows] if cf_uid.size else np.zeros(rows.size, bool)
        rows, match = rows[both], cf_rows[order[pos[both]]]
        worse = (u.qol[rows] - c.qol[match]) < -thr
        route = u.route[rows]
        moved = holds_pb(route) & (u.converted_step[rows] > self.cfg.burn_in_weeks)
        return {"compared": int(rows.size), "worse": int(worse.sum()),
                "funded": int(council_funded(route).sum()),
                "movers": int(moved.sum()), "movers_worse": int((worse & moved).sum())}

    def _observe(self):
        """Append this week's figures to ``history`` (national figures of both runs)."""
        n, m = self.recorder.national, self.counterfactual.recorder.national
        p, q = self.providers, self.counterfactual.providers
        by_type = np.bincount(p.ptype[p.active], minlength=N_TYPES)
        cf_types = np.bincount(q.ptype[q.active], minlength=N_TYPES)
        budget = self.council.budget_week
        w = self.worse_off()
        row = {
            "date": self.date_of(self.steps).isoformat(),
            "pb_share": _num(n["pb_share"], 100), "cf_pb_share": _num(m["pb_share"], 100),
            "target_share": _num(n["target_share"], 100),
            "spend_total": _num(n["spend_total"], 1e-3),
            "cf_spend_total": _num(m["spend_total"], 1e-3),
            "spend_traditional": _num(n["spend_traditional"], 1e-3),
            "spend_personal_budgets": _num(n["spend_personal_budgets"], 1e-3),
            "budget": _num(np.sum(budget), 1e-3) if np.isfinite(budget).all() else None,
            "providers": int(p.n), "cf_providers": int(q.n),
            **{f"providers_{t}": int(by_type[k]) for k, t in enumerate(PROVIDER_TYPES)},
            **{f"cf_providers_{t}": int(cf_types[k]) for k, t in enumerate(PROVIDER_TYPES)},
            "provider_exits": int(self.totals["exits"]),
            "provider_entries": int(self.totals["entries"]),
            "cf_provider_exits": int(self.counterfactual.totals["exits"]),
            "unmet_need_share": _num(n["unmet_need_share"], 100),
            "cf_unmet_need_share": _num(m["unmet_need_share"], 100),
            "unmet_need_hours": _num(n["unmet_need_hours"]),
            "spot_price_agency": _num(n["spot_price_agency"]),
            "cf_spot_price_agency": _num(m["spot_price_agency"]),
            **{f"worse_{k}": v for k, v in w.items()},
        }
        for key, value in row.items():
            self.history.setdefault(key, []).append(value)


# ---------------------------------------------------------------------- what the page shows
def _money(k: float | None) -> str:
    """£ thousands as £k or £m."""
    if k is None:
        return "—"
    return f"£{k / 1000:,.2f}m" if abs(k) >= 1000 else f"£{k:,.0f}k"


def _pct(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:.{digits}f}%"


def date_text(d: str | dt.date) -> str:
    d = dt.date.fromisoformat(d) if isinstance(d, str) else d
    return f"{d.day} {d:%b %Y}"


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n:,} {noun if n == 1 else plural}"


def _mean(values) -> float | None:
    v = [x for x in values if x is not None]
    return sum(v) / len(v) if v else None


def headline(model: DashboardModel) -> list[dict]:
    """The headline cards: title, value, unit and a line or two of context each."""
    h, t = model.history, model.steps
    start = date_text(model.start_date)
    if not t:
        wait = f"press ▶ to play from {start}"
        return [
            {"key": "pb", "title": "PB share", "value": _pct(100 * model.start_pb_share),
             "unit": "of council-funded people at home",
             "lines": [f"target {_pct(100 * model.cfg.policy.pb_target, 0)} by "
                       f"{date_text(model.target_date)}", "at the start"]},
            {"key": "spend", "title": "Council spend", "value": "—", "unit": "£ a week",
             "lines": ["budget set at week 1", wait]},
            {"key": "worse", "title": "Worse off than without the rollout", "value": "—",
             "unit": "people", "lines": ["compared person by person each week", wait]},
            {"key": "providers", "title": "Providers", "value": f"{model.start_providers:,}",
             "unit": "active, all types", "lines": ["exits and entries from week 1",
                                                    "at the start"]},
            {"key": "unmet", "title": "Unmet need", "value": "—",
             "unit": "of eligible need, funded at home", "lines": [wait]},
        ]
    year = int(model.cfg.council.eligibility_review_weeks)
    weeks = (t - 1) % year + 1                         # weeks into this budget year
    spend = _mean(h["spend_total"][-weeks:])
    cf_spend = _mean(h["cf_spend_total"][-weeks:])
    budget = h["budget"][-1]
    of_budget = f"{100 * spend / budget:.0f}% of the budget {_money(budget)}/week" \
        if spend is not None and budget else "no budget yet"
    movers, mw = h["worse_movers"][-1], h["worse_movers_worse"][-1]
    exits, entries = h["provider_exits"][-1], h["provider_entries"][-1]
    return [
        {"key": "pb", "title": "PB share", "value": _pct(h["pb_share"][-1]),
         "unit": "of council-funded people at home",
         "lines": [f"target {_pct(100 * model.cfg.policy.pb_target, 0)} by "
                   f"{date_text(model.target_date)} (path now {_pct(h['target_share'][-1], 0)})",
                   f"without the rollout {_pct(h['cf_pb_share'][-1])}"]},
        {"key": "spend", "title": "Council spend", "value": f"{_money(spend)}/week",
         "unit": f"mean of this budget year's {weeks} week{'s' * (weeks > 1)}",
         "lines": [of_budget, f"without the rollout {_money(cf_spend)}/week"]},
        {"key": "worse", "title": "Worse off than without the rollout",
         "value": f"{h['worse_worse'][-1]:,}", "unit": "people this week",
         "lines": [f"{mw:,} of the {movers:,} who moved to a PB"
                   + (f" ({100 * mw / movers:.0f}%)" if movers else ""),
                   f"quality of life {model.cfg.behaviour.outcome_threshold:g}+ below "
                   "their no-rollout path"]},
        {"key": "providers", "title": "Providers", "value": f"{h['providers'][-1]:,}",
         "unit": "active, all types",
         "lines": [f"{_count(exits, 'exit')}, {_count(entries, 'entry')} since {start}",
                   f"without the rollout {h['cf_providers'][-1]:,} "
                   f"({_count(h['cf_provider_exits'][-1], 'exit')})"]},
        {"key": "unmet", "title": "Unmet need", "value": _pct(h["unmet_need_share"][-1]),
         "unit": "of eligible need, funded at home",
         "lines": [f"{h['unmet_need_hours'][-1] or 0:,.0f} hours/week",
                   f"without the rollout {_pct(h['cf_unmet_need_share'][-1])}"]},
    ]


RUN, CF, TARGET = "#1565c0", "#757575", "#c62828"
TYPE_COLOURS = ("#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f")


def _trailing_mean(values: list, weeks: int) -> list:
    """Mean of each week and the ``weeks - 1`` before it (fewer at the start; None: no data)."""
    out, window = [], []
    for v in values:
        window.append(v)
        if len(window) > weeks:
            window.pop(0)
        out.append(None if v is None else round(_mean(window), 4))
    return out


def _series(h, key, name, colour, dashed=None, smooth=0, **extra) -> dict:
    """A line of history column ``key`` (``smooth``: its trailing mean over that many weeks);
    ``_chart`` puts the values in the chart's dataset (the dates once for all lines)."""
    values = h[key]
    return {"name": name, "type": "line", "showSymbol": False, "color": colour,
            "lineStyle": {"width": 2, "type": dashed or "solid"},
            "encode": {"x": "date", "y": name},
            "_values": _trailing_mean(values, smooth) if smooth else list(values), **extra}


def _chart(model, h, title: str, unit: str, axis: str, series: list[dict], percent=False) -> dict:
    """A line chart over the weeks' dates: ``unit`` under the title, ``axis`` (the unit,
    short) on the y axis."""
    return {
        "animation": False,
        "title": {"text": title, "subtext": unit, "left": "center", "top": 0,
                  "textStyle": {"fontSize": 15}, "subtextStyle": {"fontSize": 12}},
        "tooltip": {"trigger": "axis"},
        "legend": {"bottom": 0, "textStyle": {"fontSize": 12}, "itemWidth": 18},
        "grid": {"left": 58, "right": 18, "top": 64, "bottom": 54 if len(series) <= 3 else 80,
                 "containLabel": False},
        "xAxis": {"type": "time", "min": model.start_date.isoformat(),
                  "axisLabel": {"hideOverlap": True}},
        "yAxis": {"type": "value", "scale": not percent, "name": axis, "nameLocation": "end",
                  "nameTextStyle": {"fontSize": 12, "align": "right"},
                  **({"min": 0} if percent else {})},
        "dataset": {"source": {"date": h["date"],
                               **{s["name"]: s.pop("_values") for s in series}}},
        "series": series,
    }


#: The page's charts, in order.
CHARTS = ("uptake", "spend", "worse", "market", "unmet", "price")


def charts(model: DashboardModel) -> dict[str, dict]:
    """The ECharts options of the page's charts, by name (x: calendar dates of the weeks)."""
    run, cf = "with the rollout", "without the rollout"
    # The weeks every column has (the page draws from its own thread while the model steps).
    n = min((len(v) for v in model.history.values()), default=0)
    h = {k: v[:n] for k, v in model.history.items()}
    q = int(model.cfg.policy.clawback_interval_weeks)
    thr = model.cfg.behaviour.outcome_threshold
    types = [_series(h, f"providers_{t}", t, TYPE_COLOURS[k], stack="run",
                     areaStyle={"opacity": 0.55}, lineStyle={"width": 1})
             for k, t in enumerate(PROVIDER_TYPES)]
    types.append(_series(h, "cf_providers", f"all types {cf}", CF, "dashed"))
    return {
        "uptake": _chart(model, h, "Personal budget uptake", "% of council-funded people at home",
                         "%", [
            _series(h, "pb_share", run, RUN),
            _series(h, "cf_pb_share", cf, CF, "dashed"),
            _series(h, "target_share", "target path", TARGET, "dotted")], percent=True),
        # 13-week means: direct payments' unspent money is clawed back once a quarter.
        "spend": _chart(model, h, "Council spend", f"£ thousand a week ({q}-week mean)",
                        "£k/week", [
            _series(h, "spend_total", f"total {run}", RUN, smooth=q),
            _series(h, "cf_spend_total", f"total {cf}", CF, "dashed", smooth=q),
            _series(h, "budget", "budget", TARGET, "dotted"),
            _series(h, "spend_traditional", "traditional packages", "#2e7d32", smooth=q),
            _series(h, "spend_personal_budgets", "personal budgets", "#ef6c00",
                    smooth=q)]),
        "worse": _chart(model, h, "Worse off than without the rollout",
                        f"people, quality of life {thr:g}+ below their no-rollout path", "people", [
            _series(h, "worse_worse", "everyone compared", RUN),
            _series(h, "worse_movers_worse", "of whom moved to a PB", "#ef6c00")]),
        "market": _chart(model, h, "Market by provider type", "active providers",
                         "providers", types),
        "unmet": _chart(model, h, "Unmet need", "% of eligible need, council-funded at home",
                        "%", [
            _series(h, "unmet_need_share", run, RUN),
            _series(h, "cf_unmet_need_share", cf, CF, "dashed")], percent=True),
        "price": _chart(model, h, "Agency spot price", "£ an hour paid on the spot market",
                        "£/hour", [
            _series(h, "spot_price_agency", run, RUN),
            _series(h, "cf_spot_price_agency", cf, CF, "dashed")]),
    }
